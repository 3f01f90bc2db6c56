// Overload benchmark (issue 13): N nodes on this machine's cores, each writing its own counter,
// with kills and restarts past saturation, then quiet. Prints one JSON result per variant and a
// markdown table for BENCHMARKS.md. Needs root (namespaces); run under the shared lock:
//   flock /tmp/dsn-heavy.lock npx tsx bench/overload.ts [--n 20] [--interval 200] [--seconds 60]
//     [--kill rolling|mass|none] [--every 5000] [--dead 2000] [--seed 1] [--out FILE]
import { writeFileSync } from 'node:fs'
import { runOverload, type KillPattern, type OverloadResult } from '../test/faults/overload-scenario'

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : fallback
}

function row(r: OverloadResult): string {
  const o = r.options
  const peak = (f: (x: OverloadResult['timeline'][number]) => number) => Math.max(0, ...r.timeline.map(f))
  const sorted = [...r.detectionMs].sort((a, b) => a - b)
  const t = r.totals
  return `| ${o.n} | ${Math.round(1000 / o.writeIntervalMs)}/s | ${o.kill}${(o.kill === 'rolling' || o.kill === 'burst') ? ` ${o.killEveryMs / 1000}s/${o.deadMs / 1000}s` : o.kill === 'mass' ? ` dead ${o.deadMs / 1000}s` : ''} | ${o.seed} | ${r.kills} | ${Number.isNaN(r.convergedMs) ? `not in ${o.settleTimeoutMs / 1000} s (${r.problems.length}+ problems)` : r.convergedMs} | ${r.falseDowns} | ${sorted.length ? `${sorted[0]}-${sorted[sorted.length - 1]}` : '-'} | ${t['nacks-sent'] ?? 0} / ${t['resends'] ?? 0} / ${t['snapshots-sent'] ?? 0} / ${t['repair-deferred'] ?? 0} | ${t['kernel-drops'] ?? 0} | ${peak((x) => x.cpuPercent)} | ${r.massRestartBytesPerNode ?? '-'} |`
}

async function main(): Promise<void> {
  const r = await runOverload({
    n: Number(arg('n', '20')),
    writeIntervalMs: Number(arg('interval', '200')),
    writeSeconds: Number(arg('seconds', '60')),
    kill: arg('kill', 'rolling') as KillPattern,
    killEveryMs: Number(arg('every', '5000')),
    deadMs: Number(arg('dead', '2000')),
    seed: Number(arg('seed', '1')),
    settleTimeoutMs: Number(arg('settle', '60000')),
    prefix: `dsnov${process.pid % 1000}`,
    log: (line) => console.log(`[overload] ${line}`),
  })
  console.log('| N | writes/node | kills | seed | killed | exact after last write, ms | false peer-downs | kill detected by all, ms | NACKs / resends / snapshots / deferred | kernel drops | peak CPU % | mass-restart bytes/node |')
  console.log(row(r))
  console.log('timeline (s, cpu%, nacks, resends, snapshots, deferred, bytes, kernel drops, timeout downs, datagrams read):')
  for (const x of r.timeline) console.log(`  ${x.t} ${x.cpuPercent} ${x.nacks} ${x.resends} ${x.snapshots} ${x.repairDeferred} ${x.bytesSent} ${x.kernelDrops} ${x.timeoutDowns} ${x.received}`)
  console.log(`totals: ${JSON.stringify(r.totals)}`)
  const out = arg('out', '')
  if (out) writeFileSync(out, JSON.stringify(r, null, 1))
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err)
  process.exit(1)
})
