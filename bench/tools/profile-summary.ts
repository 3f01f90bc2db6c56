// Summarise .cpuprofile files (node --cpu-prof, e.g. from `npm run bench -- --profile DIR`):
// self time by function and by file, so a slow path in src/ shows up by name.
//   node --import tsx bench/tools/profile-summary.ts DIR|FILE... [--top 30] [--last SECONDS]
// --last: only the profile's last SECONDS (e.g. the idle window of `--only footprint`).
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { loadProfile, type ProfileNode } from './cpuprofile'

const args = process.argv.slice(2)
const option = (name: string): number | null => {
  const at = args.indexOf(name)
  return at >= 0 ? Number(args[at + 1]) : null
}
const top = option('--top') ?? 30
const lastUs = (option('--last') ?? Infinity) * 1e6
const paths = args.filter((a, i) => !a.startsWith('--') && !['--top', '--last'].includes(args[i - 1]))
const files = paths.flatMap((p) => (statSync(p).isDirectory() ? readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(p, f)) : [p]))

for (const file of files) {
  const { byId, selfUs } = loadProfile(file, lastUs)
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0)
  const byFn = new Map<string, number>()
  const byFile = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = (byId.get(id) as ProfileNode).callFrame
    const short = url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, 'nm/').replace(/.*\/work\/main\//, '')
    const fileKey = short || '(native/vm)'
    const fnKey = `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`
    byFn.set(fnKey, (byFn.get(fnKey) ?? 0) + us)
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + us)
  }
  const idle = [...selfUs].filter(([id]) => (byId.get(id) as ProfileNode).callFrame.functionName === '(idle)').reduce((s, [, us]) => s + us, 0)
  console.log(`\n== ${file}: ${(total / 1000).toFixed(0)} ms sampled, busy ${((total - idle) / 1000).toFixed(0)} ms`)
  const show = (m: Map<string, number>, n: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n).forEach(([k, us]) => console.log(`  ${(us / 1000).toFixed(1).padStart(8)} ms ${((us / Math.max(1, total - idle)) * 100).toFixed(1).padStart(5)}%  ${k}`))
  console.log(' by file:')
  show(byFile, 15)
  console.log(' by function:')
  show(byFn, top)
}
