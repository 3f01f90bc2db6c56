// 2. Throughput: key updates per second that EVERY other node holds. Each writer writes rounds
// of B distinct keys in one burst (round r sets key j to r*B + j, so every round changes every
// key); a receiver reports a round once all B keys hold at least that round's values. At most W
// rounds per writer are outstanding (closed loop: a writer never runs ahead of its slowest
// reader by more than W*B updates; Mosquitto drops QoS 1 messages beyond 1000 queued per
// client at its defaults, so W*B stays under that per subscriber). Rate = rounds * B / (last
// round held everywhere - first burst). At the end every replica must equal the writer's state.
import { BenchAgent, clock } from '../lib/agent'
import { cpuNow } from './latency'
import type { System } from '../lib/system'

export interface ThroughputRun {
  rate: number
  /** CPU (user + system) per update: all writers together, the mean receiver, the broker. */
  writerCpuUs: number
  receiverCpuUs: number
  brokerCpuUs: number
  rounds: number
  elapsedMs: number
  exact: boolean
  wrong: string[]
  error?: string
}

let tag = 0

export async function throughputRun(sys: System, writerCount: number, B: number, W: number, durationMs: number): Promise<ThroughputRun> {
  const writers = sys.agents.slice(0, writerCount)
  const prefix = `tp${++tag}_`
  await sys.print('none')
  for (const w of writers) {
    await Promise.all(sys.agents.filter((a) => a !== w).map((a) => a.request({ op: 'rounds', node: w.nodeId, prefix, keys: B })))
  }
  // per writer, per round: receivers done and the latest time
  const done = new Map<string, Map<number, { count: number; maxT: number; resolve: () => void }>>()
  const others = sys.agents.length - 1
  let lastT = 0
  const offs = sys.agents.map((a) =>
    a.on((e) => {
      if (e.ev !== 'round' || e.prefix !== prefix) return
      const entry = done.get(e.node as string)?.get(e.r as number)
      if (!entry) return
      entry.count++
      entry.maxT = Math.max(entry.maxT, e.t)
      if (entry.count === others) {
        lastT = Math.max(lastT, entry.maxT)
        entry.resolve()
      }
    }),
  )
  const cpu0 = await cpuNow(sys)
  const broker0 = sys.broker?.usage().cpuS ?? 0
  const firstTs: number[] = []
  let rounds = 0
  let failure: string | undefined
  const loop = async (w: BenchAgent) => {
    const mine = new Map<number, { count: number; maxT: number; resolve: () => void }>()
    done.set(w.nodeId, mine)
    const inflight: Promise<string | null>[] = []
    const start = clock()
    for (let r = 0; clock() - start < durationMs && !failure; r++) {
      if (inflight.length >= W) failure ??= (await inflight.shift()) ?? undefined
      if (failure) break
      inflight.push(roundDone(mine, r, w.nodeId))
      const reply = await w.request({ op: 'burst', prefix, count: B, keys: B, base: r * B })
      if (r === 0) firstTs.push(reply.t)
      rounds++
    }
    for (const f of await Promise.all(inflight)) failure ??= f ?? undefined
  }
  await Promise.all(writers.map(loop))
  offs.forEach((off) => off())
  const cpu1 = await cpuNow(sys)
  const updates = rounds * B
  const used = cpu1.map((c, i) => c - cpu0[i])
  const writerCpu = used.slice(0, writerCount).reduce((a, b) => a + b, 0)
  // Every node but a writer receives all updates; a writer receives the other writers' only.
  const receiverCpu = used.reduce((a, b) => a + b, 0) - writerCpu
  const cpu = {
    writerCpuUs: writerCpu / updates,
    receiverCpuUs: writerCount === 1 ? receiverCpu / (sys.agents.length - 1) / updates : NaN,
    brokerCpuUs: sys.broker ? ((sys.broker.usage().cpuS - broker0) * 1e6) / updates : NaN,
  }
  if (failure) return { rate: NaN, ...cpu, rounds, elapsedMs: NaN, exact: false, wrong: [], error: failure }
  const elapsedMs = lastT - Math.min(...firstTs)
  const wrong: string[] = []
  for (const w of writers) {
    const check = await sys.checkExact(w, prefix)
    wrong.push(...check.wrong.map((id) => `${id} (of ${w.nodeId})`))
  }
  return { rate: (rounds * B) / (elapsedMs / 1000), ...cpu, rounds, elapsedMs, exact: wrong.length === 0, wrong }
}

/** Resolves null once round r is held everywhere, or with what went wrong after 30 s. */
function roundDone(map: Map<number, { count: number; maxT: number; resolve: () => void }>, r: number, node: string): Promise<string | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(`round ${r} of ${node} not held everywhere within 30 s`), 30_000)
    map.set(r, { count: 0, maxT: 0, resolve: () => { clearTimeout(timer); resolve(null) } })
  })
}
