// BENCHMARKS.md from one run's results: the side-by-side table at N = 10, the targets, DSN at
// every N, how busy the machine was, the methods, and the hand-written notes (bench/NOTES.md).
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { BenchResult, SystemResult } from './results'
import { evaluateTargets, labOf } from './targets'
import { METHODS } from './methods'

/** undefined or NaN: not measured; Infinity: did not complete (a stalled loss run). */
const fmt = (x: number | undefined, f: (v: number) => string) =>
  x === undefined || Number.isNaN(x) ? '-' : x === Infinity ? 'stalled (> 20 s)' : f(x)
const n0 = (x: number | undefined) => fmt(x, (v) => Math.round(v).toLocaleString('en-US'))
const n1 = (x: number | undefined) => fmt(x, (v) => v.toFixed(1))
const n2 = (x: number | undefined) => fmt(x, (v) => v.toFixed(2))
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? '-' : `${(a / b).toFixed(2)}x`

type Row = [string, (s: SystemResult | undefined) => number | string | undefined, (x: number | undefined) => string]

/** "writer / each receiver" of the CPU per write a process spends at rest anyway (heartbeats, timers). */
function restShare(m: { writerIdleCpuUs?: number; receiverIdleCpuUs?: number } | undefined): string | undefined {
  if (m?.writerIdleCpuUs === undefined || m.receiverIdleCpuUs === undefined || Number.isNaN(m.receiverIdleCpuUs)) return undefined
  return `${n0(m.writerIdleCpuUs)} / ${n0(m.receiverIdleCpuUs)}`
}

/** "writer / each receiver" of the CPU per write spent by threads besides the main one (V8's compiler and GC helpers, libuv's pool). */
function helperShare(m: { writerHelperUs?: number; receiverHelperUs?: number } | undefined): string | undefined {
  if (m?.writerHelperUs === undefined || m.receiverHelperUs === undefined || Number.isNaN(m.receiverHelperUs)) return undefined
  return `${n0(m.writerHelperUs)} / ${n0(m.receiverHelperUs)}`
}

/** Not measured, known by construction: the floor has no timers, MQTT clients only keepalive. */
function idleNote(s: SystemResult | undefined): string | undefined {
  if (!s?.wire) return undefined
  if (s.label === 'floor' || s.label === 'secure floor') return '0 (no timers)'
  if (s.label.startsWith('Mosquitto')) return '~2, +1 per client at the broker (60 s keepalive; not measured)'
  return undefined
}

const show = (v: number | string | undefined, fmt: (x: number | undefined) => string) => (typeof v === 'string' ? v : fmt(v))

const ROWS: Row[] = [
  ['latency to all, idle, p50 (ms)', (s) => s?.latencyIdle?.median.p50, n2],
  ['latency to all, idle, p99 (ms)', (s) => s?.latencyIdle?.median.p99, n2],
  ['latency to all, idle, max (ms)', (s) => s?.latencyIdle?.median.max, n2],
  ['latency to all, loaded, p50 (ms)', (s) => s?.latencyLoaded?.median.p50, n2],
  ['latency to all, loaded, p99 (ms)', (s) => s?.latencyLoaded?.median.p99, n2],
  ['latency to all, loaded, max (ms)', (s) => s?.latencyLoaded?.median.max, n2],
  ['CPU per write, writer process (us, idle run)', (s) => s?.latencyIdle?.median.writerCpuUs, n0],
  ['CPU per write, each receiver process (us, idle run)', (s) => s?.latencyIdle?.median.receiverCpuUs, n0],
  ['of which the process spends at rest over as long (us, writer / each receiver)', (s) => restShare(s?.latencyIdle?.median), n0],
  ['of which threads besides the main one: V8 compiler, GC helpers (us, writer / each receiver)', (s) => helperShare(s?.latencyIdle?.median), n0],
  ['CPU per write, broker (us, idle run)', (s) => s?.latencyIdle?.median.brokerCpuUs, n0],
  ["CPU per write, the network: the switch's flood and every host's kernel receive, in the lab's delivery threads (us, idle run)", (s) => s?.latencyIdle?.median.networkCpuUs, n0],
  ['updates/s held by all, 1 writer', (s) => s?.throughput1?.median, n0],
  ['CPU per update, writer (us, 1 writer)', (s) => s?.throughput1?.cpu.writerCpuUs, n1],
  ['CPU per update, each receiver (us, 1 writer)', (s) => s?.throughput1?.cpu.receiverCpuUs, n1],
  ['CPU per update, broker (us, 1 writer)', (s) => s?.throughput1?.cpu.brokerCpuUs, n1],
  ['updates/s held by all, 10 writers (all 5 at N = 5)', (s) => s?.throughput10?.median, n0],
  ['bytes on the wire per 16 B write (tx)', (s) => s?.wire?.median.bytesPerWrite, n0],
  ['packets per 16 B write (tx)', (s) => s?.wire?.median.packetsPerWrite, n1],
  ['bytes delivered per write (rx, all ports)', (s) => s?.wire?.median.rxBytesPerWrite, n0],
  ['idle bytes/s per node (tx)', (s) => s?.idle?.bytesPerSecPerNode ?? idleNote(s), n1],
  ['idle packets/s per node (tx)', (s) => s?.idle?.packetsPerSecPerNode, n2],
  ['10% loss: all exact after, median (ms)', (s) => s?.loss10?.medianMs, n0],
  ['10% loss: worst repetition (ms)', (s) => s?.loss10?.maxMs, n0],
  ['30% loss: all exact after, median (ms)', (s) => s?.loss30?.medianMs, n0],
  ['30% loss: worst repetition (ms)', (s) => s?.loss30?.maxMs, n0],
  ['new node seen by all (ms)', (s) => s?.join?.median.seenByAllMs, n0],
  ['kill -9 reported down by all (ms)', (s) => s?.kill?.median.downAtAllMs, n0],
  ['RSS per node process, MB (bench agent)', (s) => s?.footprint?.rssMB, n1],
  ['CPU per node at idle, % of a core', (s) => s?.footprint?.cpuPercent, n2],
  ["CPU at idle of the network's delivery threads, per node, % of a core (all systems' idle traffic)", (s) => s?.footprint?.networkCpuPercent, n2],
  ['broker RSS, MB', (s) => s?.footprint?.brokerRssMB, n1],
]

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')
}

function sideBySide(result: BenchResult): string {
  const lab = labOf(result, 10) ?? result.labs.find((l) => !l.partial)
  if (!lab) return '_No full lab was measured._'
  const s = lab.systems
  const rows = ROWS.map(([name, get, fmt]) => {
    const vals = [s.dsn, s.mqtt1, s.mqtt0, s.mqtt1nd, s.floor, s.sfloor].map(get)
    const num = (v: number | string | undefined) => (typeof v === 'number' ? v : undefined)
    return [name, ...vals.map((v) => show(v, fmt)), ratio(num(vals[0]), num(vals[1])), ratio(num(vals[0]), num(vals[4])), ratio(num(vals[0]), num(vals[5]))]
  }).filter((r) => r.slice(1, 7).some((c) => c !== '-'))
  return `### N = ${lab.n}\n\n` + table(['', 'DSN', 'Mosquitto QoS 1', 'Mosquitto QoS 0', 'Mosquitto QoS 1, set_tcp_nodelay (not a default)', 'floor (bare JSON multicast)', 'secure floor (floor + seal + MACs)', 'DSN / Mosquitto QoS 1', 'DSN / floor', 'DSN / secure floor'], rows)
}

function perN(result: BenchResult): string {
  const labs = result.labs.filter((l) => l.systems.dsn)
  const rows = ROWS.map(([name, get, fmt]) => [name, ...labs.map((l) => show(get(l.systems.dsn), fmt))]).filter((r) => r.slice(1).some((c) => c !== '-'))
  return table(['DSN', ...labs.map((l) => `N = ${l.n}${l.partial ? ' (reduced set)' : ''}`)], rows)
}

function repair(result: BenchResult): string {
  const rows: string[][] = []
  for (const lab of result.labs) {
    const dsn = lab.systems.dsn
    for (const loss of [dsn?.loss10, dsn?.loss30]) {
      const r = loss?.repair
      if (!loss || !r) continue
      const per = (x: number) => n2(x / Math.max(1, r.lostBySome))
      rows.push([`N = ${lab.n}, ${loss.percent}%`, n0(r.dataDatagrams), n0(r.lostBySome), n0(r.receiverLosses), `${n0(r.nacksSent)} (${per(r.nacksSent)})`,
        `${n0(r.nacksReceivedByOrigin)} (${per(r.nacksReceivedByOrigin)})`, `${n0(r.resends)} (${per(r.resends)})`, n0(r.snapshots)])
    }
  }
  if (rows.length === 0) return '_Not measured in this run._'
  return table(['run', 'Data datagrams sent (first transmissions)', 'lost by at least one receiver', 'receiver losses', 'NACKs sent by all (per lost)', 'NACKs reaching the origin (per lost)', 'resends (per lost)', 'snapshots'], rows)
}

function loads(result: BenchResult): string {
  const rows: string[][] = []
  for (const lab of result.labs) {
    for (const s of Object.values(lab.systems)) {
      for (const [name, l] of Object.entries(s.load)) rows.push([`${lab.n}`, s.label, name, n2(l.loadavg1), `${n1(l.busyPercent)}%`, s.errors[name] ?? ''])
    }
  }
  return table(['N', 'system', 'section', 'load average (1 min) after', 'all cores busy during', 'error'], rows)
}

export function renderReport(result: BenchResult): string {
  const m = result.machine
  const verdicts = evaluateTargets(result)
  const missed = verdicts.filter((v) => v.met === false)
  const notesPath = resolve(__dirname, 'NOTES.md')
  const notes = existsSync(notesPath) ? readFileSync(notesPath, 'utf8').trim() : ''
  // Hand-kept sections (simulator, in-process and one-off real-socket runs), in file-name order.
  const sectionsDir = resolve(__dirname, 'sections')
  const sections = existsSync(sectionsDir)
    ? readdirSync(sectionsDir).filter((f) => f.endsWith('.md')).sort().map((f) => readFileSync(resolve(sectionsDir, f), 'utf8').trim())
    : []
  const otherErrors = result.labs.flatMap((l) => Object.values(l.systems).flatMap((s) => Object.entries(s.errors).map(([k, v]) => `- N = ${l.n}, ${s.label}, ${k}: ${v}`)))
  return `# Benchmarks

Measured by \`${result.command}\` (${result.quick ? 'quick mode: N = 10 with fewer repetitions, plus a reduced N = 20 lab for the figures defined at N = 20' : 'full run: N = 5, 10, 20'}),
${result.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${Math.round(result.durationS / 60)} min. Every system ran on the same namespace lab
(test/lab/netns.ts: one bridge, one veth per host, no route out; ${result.params.networkThreads === true ? 'delivery in kernel threads of the lab, as a switch and NICs do, their CPU a row of its own' : 'each sender\'s syscall did the delivery into every host, the lab before 2026-12-07 13:00 or `--inline-delivery`'}), all started together and measured one at a
time, the repetitions of each section interleaved across systems; absolute times drift on this shared
machine, so compare within this file, not across runs.
Reproduce: \`npm run bench\` (full: N = 5, 10, 20, about an hour) or \`npm run bench -- --quick\` (about 10 min), as root.
Raw figures: \`bench/results/latest-${result.quick ? 'quick' : 'full'}.json\`; \`npm run bench -- --report-only FILE\` re-renders this file from one.

## Machine

| nproc | CPU | kernel | Node | memory | Mosquitto | load average at start / end |
| --- | --- | --- | --- | --- | --- | --- |
| ${m.nproc} | ${m.cpu} | ${m.kernel} | ${m.node} | ${m.memoryGiB} GiB | ${m.mosquitto} (Debian) | ${result.loadStart.map(n2).join(' ')} / ${result.loadEnd.map(n2).join(' ')} |

The machine is shared: other engineers' test suites ran during the measurement (see the load per section below).

## Side by side with Mosquitto and the floor

${sideBySide(result)}

## Targets (issues 5 and 8), from the figures above

${table(['target', 'ours', 'bound (same run)', 'verdict', 'each run on its own'], verdicts.map((v) => [v.target, v.ours, v.bound, v.met === null ? `n/a: ${v.margin}` : v.met ? `**met**, ${v.margin}` : `**MISSED**: ${v.margin}`, v.eachRun ?? '-']))}

The verdict compares each system's median over its runs. The last column takes each run on its own: DSN's figure over
the bound from the other system's figure in the same round (the runs of a section are interleaved across systems), so
it shows whether the runs agree where the machine's speed drifts between rounds.

${missed.length === 0 ? 'No measured target was missed.' : `Missed: ${missed.map((v) => v.target).join('; ')}. Why: see the notes below.`}

## DSN at every N

${perN(result)}

## Repair cost under loss

${repair(result)}

## Machine load per section

${loads(result)}
${otherErrors.length ? `\nErrors and warnings:\n${otherErrors.join('\n')}\n` : ''}
## Methods

${METHODS}

## Notes

${notes || '_none_'}
${sections.map((s) => `\n${s}\n`).join('')}`
}
