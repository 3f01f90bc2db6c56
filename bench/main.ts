// The benchmark: every system on the same namespace lab at once (all idle but the one being
// measured), each section's repetitions interleaved across systems, in one sitting.
// Started by scripts/bench.mjs (npm run bench); writes BENCHMARKS.md and bench/results/*.json.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import { join, resolve } from 'node:path'
import { createLab } from '../test/lab/netns'
import { describeMachine, watchLoad } from './lib/machine'
import { medianOf, median } from './lib/stats'
import { System, type SystemSpec } from './lib/system'
import { parsePlan, SYSTEMS, type Plan, type Section, type SystemKey } from './plan'
import { renderReport } from './report'
import type { BenchResult, LabResult, SystemResult } from './results'
import { footprintRun } from './scenarios/footprint'
import { latencyRun } from './scenarios/latency'
import { lossRun } from './scenarios/loss'
import { joinRun, killRun } from './scenarios/membership'
import { throughputRun, type ThroughputRun } from './scenarios/throughput'
import { idleRate, wireRun } from './scenarios/wire'
import { wifiRun } from './scenarios/wifi'

const ROOT = resolve(__dirname, '..')
const SPECS: Record<SystemKey, SystemSpec> = {
  dsn: { impl: 'dsn' },
  floor: { impl: 'floor' },
  // The floor plus DSN's cryptography per datagram: AEAD seal/open and receiver MACs.
  sfloor: { impl: 'floor', secure: true },
  mqtt1: { impl: 'mqtt', qos: 1, port: 1883 },
  mqtt0: { impl: 'mqtt', qos: 0, port: 1884 },
  // Not a default: what the loaded latency becomes without Nagle on the broker's sockets.
  mqtt1nd: { impl: 'mqtt', qos: 1, port: 1885, brokerNoDelay: true },
}
/** What each system is measured on: the floor is a latency and bytes reference only. */
const SECTIONS_OF: Record<SystemKey, Section[]> = {
  dsn: ['latency', 'throughput', 'wire', 'loss', 'membership', 'footprint', 'wifi'],
  floor: ['latency', 'wire'],
  sfloor: ['latency', 'wire'],
  mqtt1: ['latency', 'throughput', 'wire', 'loss', 'footprint', 'wifi'],
  mqtt0: ['latency', 'throughput', 'wire'],
  mqtt1nd: ['latency'],
}

const say = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`)
const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)} ms` : String(x))
const exactness = (r: ThroughputRun[]) => r.map((x) => (x.exact ? 'exact' : `NOT exact: ${x.error ?? x.wrong.join(',')}`)).join(', ')

interface Entry {
  key: SystemKey
  sys: System
  result: SystemResult
}

/**
 * Runs one section for every entry that has it, the repetitions interleaved (run 1 of every
 * system, then run 2...), so a change in the machine's load hits all systems alike.
 */
async function section(name: string, entries: Entry[], fn: (e: Entry) => Promise<void>): Promise<void> {
  if (entries.length === 0) return
  const load = watchLoad()
  for (const e of entries) {
    try {
      await fn(e)
    } catch (err) {
      e.result.errors[name] = (err as Error).message.split('\n')[0]
      say(`  ${e.result.label} ${name}: FAILED ${e.result.errors[name]}`)
    }
  }
  const sample = load()
  for (const e of entries) e.result.load[name] = sample
}

async function repeated<R>(name: string, entries: Entry[], runs: number, one: (e: Entry) => Promise<R>, done: (e: Entry, r: R[]) => string): Promise<void> {
  const collected = new Map<Entry, R[]>(entries.map((e) => [e, []]))
  for (let i = 0; i < runs; i++) await section(name, entries, async (e) => void (collected.get(e) as R[]).push(await one(e)))
  for (const e of entries) {
    const r = collected.get(e) as R[]
    if (r.length > 0) say(`  ${name}, ${e.result.label}: ${done(e, r)}`)
  }
}

/** Unmeasured writes right before each measured idle latency run (see where it is used). */
const REWARM_WRITES = 2000

/** The idle-traffic window: see where it is used. */
const IDLE_WINDOW_MS = 32_000

async function runLab(n: number, plan: Plan, workDir: string, reduced: boolean): Promise<LabResult> {
  say(`building a lab of ${n + 1} hosts (N = ${n} nodes + 1 spare: the brokers, or a joining node), delivering ${plan.networkThreads ? 'from kernel threads' : 'inside each sender\'s syscall (--inline-delivery)'}`)
  const lab = await createLab({ hosts: n + 1, prefix: `dsnb${n}`, networkThreads: plan.networkThreads })
  const keys: SystemKey[] = reduced ? ['dsn'] : SYSTEMS.filter((k) => plan.systems.has(k))
  const entries: Entry[] = keys.map((key) => {
    const flags = [
      ...(plan.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(plan.profileDir, key)}`] : []),
      ...(plan.perfMaps ? ['--perf-basic-prof'] : []),
    ]
    const sys = new System(SPECS[key], { lab, n, workDir: join(workDir, `${key}-n${n}`), nodeFlags: flags.length > 0 ? flags : undefined })
    return { key, sys, result: { label: sys.label, load: {}, errors: {} } }
  })
  const out: LabResult = { n, partial: reduced, systems: Object.fromEntries(entries.map((e) => [e.key, e.result])) }
  const has = (s: Section, skip: SystemKey[] = []) => entries.filter((e) => plan.only.has(s) && SECTIONS_OF[e.key].includes(s) && !skip.includes(e.key))
  const runs = reduced ? 1 : plan.runs
  try {
    for (const e of entries) {
      const started = Date.now()
      await e.sys.start()
      say(`N=${n} ${e.sys.label}: ${n} nodes up in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    }
    // Warm-up, the same for every system: a daemon lives for days, and until TurboFan has compiled
    // the hot path (thousands of writes for DSN's) its compiler thread's CPU counts in every write.
    if (plan.warmup > 0) await section('latency warm-up', has('latency'), async (e) => void (await latencyRun(e.sys, plan.warmup, null)))
    // And again just before each measured run: while the other systems take their turns, an idle
    // process's memory reducer collects the maps its optimized code depends on, which V8 then
    // discards ("weak objects"), so the first system warmed would otherwise be measured re-compiling.
    const rewarm = Math.min(plan.warmup, REWARM_WRITES)
    await repeated('latency idle', has('latency'), runs, async (e) => {
      if (rewarm > 0) await latencyRun(e.sys, rewarm, null)
      return latencyRun(e.sys, plan.writes, null, true)
    }, (e, r) => {
      const m = (e.result.latencyIdle = { runs: r, median: medianOf(r) }).median
      return `p50 ${ms(m.p50)} p99 ${ms(m.p99)} max ${ms(m.max)} (timeouts ${r.map((x) => x.timeouts).join('+')}); CPU per write: writer ${m.writerCpuUs.toFixed(0)} us (kernel ${m.writerSysUs.toFixed(0)}, at rest ${m.writerIdleCpuUs.toFixed(0)}), each receiver ${m.receiverCpuUs.toFixed(0)} us (kernel ${m.receiverSysUs.toFixed(0)}, at rest ${m.receiverIdleCpuUs.toFixed(0)}); of which other threads: writer ${m.writerHelperUs.toFixed(0)}, receiver ${m.receiverHelperUs.toFixed(0)} us` +
        (Number.isFinite(m.receiverGcUs) ? `; GC pauses per write: writer ${m.writerGcUs.toFixed(1)}, receiver ${m.receiverGcUs.toFixed(1)} us (scavenges per 1,000 writes ${m.writerScavengesPerKWrite.toFixed(1)}, ${m.receiverScavengesPerKWrite.toFixed(1)})` : '') +
        (Number.isFinite(m.brokerCpuUs) ? `, broker ${m.brokerCpuUs.toFixed(0)} us` : '') +
        (Number.isFinite(m.networkCpuUs) ? `; the network's delivery threads ${m.networkCpuUs.toFixed(0)} us` : '') +
        (Number.isFinite(m.writerSentPerWrite) ? `; datagrams per write: writer sent ${m.writerSentPerWrite.toFixed(2)} (+${(m.writerUnicastCopiesPerWrite || 0).toFixed(2)} unicast copies), each receiver got ${m.receiverReceivedPerWrite.toFixed(2)}, the writer got ${(m.writerReceivedPerWrite ?? NaN).toFixed(2)}` : '')
    })
    if (!reduced) {
      const load = { writers: plan.loadWriters, intervalMs: plan.loadIntervalMs }
      await repeated('latency loaded', has('latency', plan.quick ? ['mqtt0'] : []), runs, (e) => latencyRun(e.sys, plan.writes, load), (e, r) => {
        const m = (e.result.latencyLoaded = { runs: r, median: medianOf(r) }).median
        return `p50 ${ms(m.p50)} p99 ${ms(m.p99)} max ${ms(m.max)} (timeouts ${r.map((x) => x.timeouts).join('+')})`
      })
      await repeated('throughput 1 writer', has('throughput'), runs, (e) => throughputRun(e.sys, 1, plan.burst1.keys, plan.burst1.window, plan.throughputMs), (e, r) => {
        const cpu = { writerCpuUs: median(r.map((x) => x.writerCpuUs)), receiverCpuUs: median(r.map((x) => x.receiverCpuUs)), brokerCpuUs: median(r.map((x) => x.brokerCpuUs)) }
        e.result.throughput1 = { runs: r, median: median(r.map((x) => x.rate)), cpu }
        return `${Math.round(e.result.throughput1.median)} updates/s held by all (${exactness(r)}); CPU per update: writer ${cpu.writerCpuUs.toFixed(1)} us, each receiver ${cpu.receiverCpuUs.toFixed(1)} us` +
          (Number.isFinite(cpu.brokerCpuUs) ? `, broker ${cpu.brokerCpuUs.toFixed(1)} us` : '')
      })
      const writers = Math.min(10, n)
      await repeated(`throughput ${writers} writers`, has('throughput', ['mqtt0']), runs, (e) => throughputRun(e.sys, writers, plan.burst10.keys, plan.burst10.window, plan.throughputMs), (e, r) => {
        e.result.throughput10 = { runs: r, median: median(r.map((x) => x.rate)), writers }
        return `${Math.round(e.result.throughput10.median)} updates/s held by all (${exactness(r)})`
      })
    }
    await repeated('wire', has('wire'), runs, (e) => wireRun(e.sys, plan.wireWrites, plan.wireIntervalMs, plan.idleMs), (e, r) => {
      const w = (e.result.wire = { runs: r, median: medianOf(r) }).median
      return `${w.bytesPerWrite.toFixed(0)} B in ${w.packetsPerWrite.toFixed(1)} packets per write (rx ${w.rxBytesPerWrite.toFixed(0)} B)`
    })
    for (const percent of [10, 30]) {
      await section(`loss ${percent}%`, has('loss'), async (e) => {
        const trace = e.key === 'dsn' && n >= 20
        const r = await lossRun(e.sys, percent, plan.lossReps, plan.lossKeys, plan.lossIntervalMs, trace)
        if (percent === 10) e.result.loss10 = r
        else e.result.loss30 = r
        const rep = r.repair
        say(`  ${percent}% loss, ${e.result.label}: every replica exact after median ${ms(r.medianMs)}, worst ${ms(r.maxMs)} (${r.exact ? 'exact at the end' : 'NOT exact at the end'})` +
          (rep ? `; ${rep.lostBySome} of ${rep.dataDatagrams} datagrams lost by some, NACKs at origin ${rep.nacksReceivedByOrigin}, sent ${rep.nacksSent} (${rep.nacksDirect ?? 0} to the origin alone), resends ${rep.resends}, snapshots ${rep.snapshots}` : ''))
      })
    }
    await section('wifi lossy multicast', has('wifi'), async (e) => {
      const r = (e.result.wifi = await wifiRun(e.sys, plan.wifiWrites, plan.wifiReps, plan.lossKeys, plan.lossIntervalMs, 4000))
      say(`  Wi-Fi lossy multicast, ${e.result.label}: latency to all p50 ${ms(r.latency.p50)} p99 ${ms(r.latency.p99)} max ${ms(r.latency.max)} (timeouts ${r.latency.timeouts}); ` +
        `every replica exact after the last write: median ${ms(r.exact.medianMs)}, worst ${ms(r.exact.maxMs)} (${r.exact.exact ? 'exact' : 'NOT exact'})` +
        (r.unicastPeers !== undefined ? `; writer sends unicast copies to ${r.unicastPeers} of ${n - 1} peers` : ''))
    })
    // Paths chosen under the Wi-Fi section's loss keep their unicast copies for a hold of 5-80 s
    // after it heals: the sections after it would measure those copies (idle traffic, kill -9).
    for (const e of has('wifi')) {
      if (e.key !== 'dsn') continue
      await e.sys.stop()
      await e.sys.start()
      say(`  ${e.result.label} restarted after the Wi-Fi section: later sections start from a multicast-only mesh`)
    }
    if (!reduced) {
      await section('join', has('membership'), async (e) => {
        const r = []
        for (let i = 0; i < plan.joinReps; i++) r.push(await joinRun(e.sys, i))
        const m = (e.result.join = { runs: r, median: medianOf(r) }).median
        say(`  new node, ${e.result.label}: seen by all ${ms(m.seenByAllMs)} after DSNode.start (${ms(m.seenByAllFromReadyMs)} after it returned); it sees all after ${ms(m.seesAllMs)}`)
      })
      await section('kill', has('membership'), async (e) => {
        const r = []
        for (let i = 0; i < plan.killReps; i++) r.push(await killRun(e.sys))
        const m = (e.result.kill = { runs: r, median: medianOf(r.map((x) => ({ downAtAllMs: x.downAtAllMs, firstDownMs: x.firstDownMs }))) }).median
        const lags = r.map((x) => Object.entries(x.lagSamples).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(' ') || 'none').join('; ')
        say(`  kill -9, ${e.result.label}: down at all after ${ms(m.downAtAllMs)} (first ${ms(m.firstDownMs)}; reasons ${[...new Set(r.flatMap((x) => x.reasons))].join(',')}); lag samples on the others per run: ${lags}`)
      })
    }
    await section('footprint', has('footprint'), async (e) => {
      const f = (e.result.footprint = await footprintRun(e.sys, plan.footprintKeys, plan.footprintIdleMs))
      say(`  footprint, ${e.result.label}: RSS ${f.rssMB.toFixed(1)} MB (agent alone ${f.tsxBaseMB.toFixed(1)}), CPU ${f.cpuPercent.toFixed(2)}% per node` +
        (Number.isFinite(f.networkCpuPercent) ? ` (+ the network's delivery threads ${f.networkCpuPercent.toFixed(2)}%)` : '') +
        (f.brokerRssMB !== undefined ? `; broker ${f.brokerRssMB.toFixed(1)} MB, ${f.brokerCpuPercent?.toFixed(2)}%` : ''))
    })
    for (const e of entries) {
      const drops = e.sys.broker?.drops() ?? []
      if (drops.length > 0) e.result.errors['broker drops'] = `${drops.length} log lines, e.g. ${drops[0]}`
    }
    const dsn = entries.find((e) => e.key === 'dsn')
    if (plan.only.has('wire') && dsn) {
      await section('idle', [dsn], async () => {
        // 32 s: two whole periods of the signed heartbeat (every 16th at 1 s). An 8 s window held
        // 0 or 1 of them per node and ~80 heartbeats in all: +-12% from where the window fell.
        const rate = (dsn.result.idle = await idleRate(lab, n, dsn.sys, entries.filter((e) => e !== dsn).map((e) => e.sys), Math.max(plan.idleMs, IDLE_WINDOW_MS)))
        say(`  idle, DSN alone: ${rate.bytesPerSecPerNode.toFixed(1)} B/s (${rate.packetsPerSecPerNode.toFixed(2)} packets/s) per node`)
      })
    }
  } finally {
    await Promise.all(entries.map((e) => e.sys.stop().catch(() => undefined)))
    await lab.destroy()
  }
  return out
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  const reportOnly = argv.indexOf('--report-only')
  if (reportOnly >= 0) {
    // Re-render BENCHMARKS.md from a results file (e.g. after editing bench/NOTES.md).
    const file = resolve(argv[reportOnly + 1] ?? join(ROOT, 'bench', 'results', 'latest-quick.json'))
    const revive = (_k: string, v: unknown) => (v === 'Infinity' ? Infinity : v === 'NaN' ? NaN : v)
    const result = JSON.parse(readFileSync(file, 'utf8'), revive) as BenchResult
    const out = argv.includes('--out') ? argv[argv.indexOf('--out') + 1] : 'BENCHMARKS.md'
    writeFileSync(resolve(ROOT, out), renderReport(result))
    say(`${out} re-rendered from ${file}`)
    return
  }
  const plan = parsePlan(argv)
  const started = new Date()
  // Not under /tmp/dsn*: other suites on this machine clean those up while they run.
  const workDir = join('/var/tmp', `bench-work-${process.pid}`)
  mkdirSync(workDir, { recursive: true })
  if (plan.profileDir) mkdirSync(plan.profileDir, { recursive: true })
  const machine = describeMachine()
  say(`${machine.nproc} x ${machine.cpu}, ${machine.kernel}, Node ${machine.node}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  const result: BenchResult = {
    startedAt: started.toISOString(), finishedAt: '', durationS: 0,
    command: `npm run bench${argv.length ? ' -- ' + argv.join(' ') : ''}`,
    quick: plan.quick, machine, loadStart: os.loadavg(), loadEnd: [], labs: [],
    params: { ...plan, only: [...plan.only], systems: [...plan.systems] },
  }
  const save = () => {
    result.finishedAt = new Date().toISOString()
    result.durationS = Math.round((Date.now() - started.getTime()) / 1000)
    result.loadEnd = os.loadavg()
    const dir = join(ROOT, 'bench', 'results')
    mkdirSync(dir, { recursive: true })
    const json = JSON.stringify(result, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)
    writeFileSync(join(dir, `latest-${plan.kind}.json`), json)
    writeFileSync(resolve(ROOT, plan.out), renderReport(result))
  }
  try {
    for (const n of plan.ns) {
      result.labs.push(await runLab(n, plan, workDir, false))
      save()
    }
    if (plan.extra20 && !plan.ns.includes(20)) {
      result.labs.push(await runLab(20, plan, workDir, true))
    }
  } finally {
    save()
    rmSync(workDir, { recursive: true, force: true })
  }
  say(`done in ${result.durationS} s: ${plan.out} and bench/results/`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
