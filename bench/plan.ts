// What a bench run measures and how many times: parsed from the command line.
//   npm run bench [-- --quick] [--n 5,10,20] [--only latency,throughput,wire,loss,membership,footprint,wifi]
//                 [--systems dsn,floor,sfloor,mqtt1,mqtt0,mqtt1nd] [--runs K] [--writes K] [--warmup K] [--seconds S]
//                 [--loss-reps K] [--wifi-writes K] [--profile DIR] [--perf] [--inline-delivery] [--out FILE]
// --perf starts every node agent with --perf-basic-prof, so `perf record` names their JS frames.
// --inline-delivery: the lab as before 2026-12-07, where each sender's syscall also did the bridge's
// flood and every receiver's kernel receive (test/lab/setup.ts, threadDelivery), for comparison.
// Any of the narrowing options makes a 'custom' run: bench/results/custom.md, latest-custom.json.

export const SECTIONS = ['latency', 'throughput', 'wire', 'loss', 'membership', 'footprint', 'wifi'] as const
export type Section = (typeof SECTIONS)[number]
export const SYSTEMS = ['dsn', 'floor', 'sfloor', 'mqtt1', 'mqtt0', 'mqtt1nd'] as const
export type SystemKey = (typeof SYSTEMS)[number]

export interface Plan {
  quick: boolean
  /** Lab sizes that get every section. */
  ns: number[]
  /** Quick mode: also a DSN-only N = 20 lab for the figures defined at N = 20 (NACKs, footprint). */
  extra20: boolean
  only: Set<Section>
  systems: Set<SystemKey>
  runs: number
  writes: number
  /** Latency writes before the first measured run of each system, not counted (V8 warm-up). */
  warmup: number
  loadWriters: number
  loadIntervalMs: number
  throughputMs: number
  /** Keys per burst and bursts outstanding per writer, one writer / ten writers. */
  burst1: { keys: number; window: number }
  burst10: { keys: number; window: number }
  wireWrites: number
  wireIntervalMs: number
  idleMs: number
  lossReps: number
  lossKeys: number
  lossIntervalMs: number
  /** Wi-Fi section (lossy multicast): writes for the latency, rounds for exactness. */
  wifiWrites: number
  wifiReps: number
  joinReps: number
  killReps: number
  footprintKeys: number
  footprintIdleMs: number
  profileDir: string | null
  /** Node agents write /tmp/perf-PID.map for `perf record` (bench/NOTES.md). */
  perfMaps: boolean
  /** The lab delivers from kernel threads (a switch and NICs), not inside the sender's syscall. */
  networkThreads: boolean
  /** 'quick' or 'full' for the standard runs; 'custom' when --n/--only/--systems/... narrow it. */
  kind: 'quick' | 'full' | 'custom'
  out: string
  argv: string[]
}

export function parsePlan(argv: string[]): Plan {
  const flag = (name: string) => argv.includes(`--${name}`)
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`)
    return i >= 0 ? argv[i + 1] : undefined
  }
  const list = <T extends string>(name: string, allowed: readonly T[], fallback: readonly T[]): Set<T> => {
    const v = value(name)
    if (!v) return new Set(fallback)
    const items = v.split(',').map((s) => s.trim()) as T[]
    for (const item of items) if (!allowed.includes(item)) throw new Error(`--${name}: unknown "${item}" (known: ${allowed.join(', ')})`)
    return new Set(items)
  }
  const quick = flag('quick')
  const narrowed = ['n', 'only', 'systems', 'runs', 'writes', 'warmup', 'seconds', 'loss-reps', 'wifi-writes', 'profile'].some((f) => value(f) !== undefined) || flag('perf') || flag('inline-delivery')
  const kind = narrowed ? 'custom' : quick ? 'quick' : 'full'
  const ns = (value('n') ?? (quick ? '10' : '5,10,20')).split(',').map(Number)
  for (const n of ns) if (!Number.isInteger(n) || n < 2 || n > 60) throw new Error(`--n: sizes 2..60, got ${n}`)
  const num = (name: string, fallback: number) => {
    const v = value(name)
    if (v === undefined) return fallback
    const n = Number(v)
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: a positive number, got "${v}"`)
    return n
  }
  return {
    quick,
    ns,
    extra20: quick && !value('n') && !flag('no-extra20'),
    only: list('only', SECTIONS, SECTIONS),
    systems: list('systems', SYSTEMS, SYSTEMS),
    runs: num('runs', quick ? 2 : 3),
    writes: num('writes', 1000),
    warmup: num('warmup', 8000),
    loadWriters: 3,
    loadIntervalMs: 10,
    throughputMs: num('seconds', 10) * 1000,
    burst1: { keys: 200, window: 4 },
    burst10: { keys: 25, window: 2 },
    wireWrites: quick ? 40 : 100,
    wireIntervalMs: 100,
    idleMs: quick ? 4000 : 10_000,
    lossReps: num('loss-reps', quick ? 5 : 10),
    lossKeys: 50,
    lossIntervalMs: 10,
    wifiWrites: num('wifi-writes', 300),
    wifiReps: num('loss-reps', quick ? 5 : 10),
    joinReps: quick ? 3 : 5,
    killReps: quick ? 3 : 5,
    footprintKeys: 100,
    footprintIdleMs: quick ? 10_000 : 30_000,
    profileDir: value('profile') ?? null,
    perfMaps: flag('perf'),
    networkThreads: !flag('inline-delivery'),
    kind,
    // A narrowed run must not replace the published tables.
    out: value('out') ?? (kind === 'custom' ? 'bench/results/custom.md' : 'BENCHMARKS.md'),
    argv,
  }
}
