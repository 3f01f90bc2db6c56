// npm run fuzz [-- --count N] [--seed S] [--strict]
// Feeds one engine's receive path (no sockets) hostile datagrams: random bytes, mutations of
// real captured traffic, frames under the wrong key, replays, malformed frames, and valid
// frames from insiders (the network key, their own identities) with absurd fields. Prints the
// outcome table, the drop counters and the verdicts, then runs the probes for known src bugs.
// Exits 1 when a verdict fails (or, with --strict, when a known bug is still there).
import { formatReport, runFuzz } from '../test/fuzz/harness'
import { runProbes } from '../test/fuzz/probes'

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return fallback
  const value = Number(process.argv[i + 1])
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`--${name} needs a non-negative integer (got ${process.argv[i + 1]})`)
    process.exit(2)
  }
  return value
}

const count = arg('count', 1_000_000)
const seed = arg('seed', 1)
const strict = process.argv.includes('--strict')

const report = runFuzz({ count, seed, progress: (line) => console.log(`  ${line}`) })
console.log(formatReport(report))
console.log('probes for known src bugs (PASS = fixed):')
const probes = runProbes(seed)
for (const p of probes) console.log(`${p.ok ? 'PASS' : 'FAIL'} ${p.name}: ${p.detail}\n     ${p.where}`)
const failedProbes = probes.filter((p) => !p.ok).length
const held = report.invariants.filter((v) => v.ok).length
console.log(`verdicts: ${held} of ${report.invariants.length} hold; known src bugs still present: ${failedProbes} of ${probes.length}${failedProbes && !strict ? ' (fail the run only with --strict)' : ''}`)
process.exit(report.ok && (!strict || failedProbes === 0) ? 0 : 1)
