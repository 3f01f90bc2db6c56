// 4. Loss: random loss of `percent` on every host's link, both directions (the lab's nft rule
// for UDP, ours for TCP). One writer writes rounds of M keys, one write every intervalMs; a
// receiver reports a round once all M keys hold that round's values. Time = the last receiver
// to hold the whole round - the writer's last write of it. Loss is cleared afterwards and
// every replica must then equal the writer's state.
// With `trace`, also how repair scaled: NACKs sent by all receivers and NACKs reaching the
// origin, resends and snapshots, per Data datagram that at least one receiver lost (its first
// transmission, by packet number, see agents/trace.ts).
import { sleep } from '../lib/agent'
import { median } from '../lib/stats'
import type { System } from '../lib/system'
import { setLossEverywhere } from '../lib/tcp-loss'

export interface RepairCost {
  dataDatagrams: number
  /** First transmissions missed by at least one receiver. */
  lostBySome: number
  /** (receiver, datagram) pairs missed. */
  receiverLosses: number
  nacksSent: number
  /** Of nacksSent, those sent to the origin alone (the sender lagged or had kernel drops: point-to-point.ts). */
  nacksDirect?: number
  nacksReceivedByOrigin: number
  nacksOverheard: number
  resends: number
  snapshots: number
}

export interface LossRun {
  percent: number
  timesMs: number[]
  medianMs: number
  maxMs: number
  /** Repetitions that did not complete within 20 s (the run stops at the first). */
  timeouts: number
  exact: boolean
  repair?: RepairCost
}

let lossTag = 0
const REP_TIMEOUT_MS = 20_000

/** Another way to impair the lab for the rounds (the Wi-Fi profiles of scenarios/wifi.ts). */
export interface Impairment {
  apply(): Promise<void>
  clear(): Promise<void>
}

export async function lossRun(sys: System, percent: number, reps: number, M: number, intervalMs: number, trace: boolean, impairment?: Impairment): Promise<LossRun> {
  const [writer, ...receivers] = sys.agents
  const prefix = `l${++lossTag}_`
  await sys.print('none')
  await Promise.all(receivers.map((a) => a.request({ op: 'rounds', node: writer.nodeId, prefix, keys: M })))
  const rounds = new Map<number, { count: number; maxT: number; resolve: () => void }>()
  const offs = receivers.map((a) =>
    a.on((e) => {
      if (e.ev !== 'round' || e.prefix !== prefix) return
      const entry = rounds.get(e.r as number)
      if (!entry) return
      entry.count++
      entry.maxT = Math.max(entry.maxT, e.t)
      if (entry.count === receivers.length) entry.resolve()
    }),
  )
  const dsn = sys.spec.impl === 'dsn'
  const before = dsn ? await counters(sys) : null
  if (trace) await Promise.all(sys.agents.map((a) => a.request({ op: 'trace-on' })))
  const times: number[] = []
  let timeouts = 0
  const impair = impairment ?? { apply: () => setLossEverywhere(sys.ctx.lab, percent), clear: () => setLossEverywhere(sys.ctx.lab, 0) }
  await impair.apply()
  try {
    for (let r = 0; r < reps; r++) {
      let entry!: { count: number; maxT: number; resolve: () => void }
      const all = new Promise<void>((resolve) => rounds.set(r, (entry = { count: 0, maxT: 0, resolve })))
      const reply = await writer.request({ op: 'trickle', prefix, count: M, base: r * M, intervalMs }, M * intervalMs + 30_000)
      let timer: NodeJS.Timeout | undefined
      const inTime = await Promise.race([all.then(() => true), new Promise<boolean>((res) => (timer = setTimeout(() => res(false), REP_TIMEOUT_MS)))])
      clearTimeout(timer)
      if (inTime) times.push(entry.maxT - (reply.tLast as number))
      else {
        // Stalled (TCP backing off under heavy loss): further rounds would queue behind it.
        timeouts++
        times.push(Infinity)
        break
      }
      await sleep(200)
    }
  } finally {
    await impair.clear()
    offs.forEach((off) => off())
  }
  let repair: RepairCost | undefined
  if (trace) {
    const traces = await Promise.all(sys.agents.map(async (a) => (await a.request({ op: 'trace-off' })).trace as TraceData))
    const after = await counters(sys)
    repair = repairCost(traces, writer.nodeId, before as Counters[], after)
  }
  // The last round must reach everyone once the loss is gone (repair, anti-entropy, or TCP
  // retransmission, whose backoff can take tens of seconds after heavy loss).
  let check = await sys.checkExact(writer, prefix)
  for (let waited = 0; !check.exact && waited < 60_000; waited += 1000) {
    await sleep(1000)
    check = await sys.checkExact(writer, prefix)
  }
  const finite = times.filter(Number.isFinite)
  return { percent, timesMs: times, medianMs: median(times), maxMs: finite.length === times.length ? Math.max(...times) : Infinity, timeouts, exact: check.exact, repair }
}

type Counters = Record<string, number>
interface TraceData {
  firstSent: Record<string, number>
  received: Record<string, number[]>
}

async function counters(sys: System): Promise<Counters[]> {
  return Promise.all(sys.agents.map(async (a) => ((await a.request({ op: 'status' })).status as { counters: Counters }).counters))
}

function repairCost(traces: TraceData[], origin: string, before: Counters[], after: Counters[]): RepairCost {
  const first = Object.values(traces[0].firstSent)
  const receivedSets = traces.slice(1).map((t) => new Set(t.received[origin] ?? []))
  let lostBySome = 0
  let receiverLosses = 0
  for (const packet of first) {
    const missing = receivedSets.filter((s) => !s.has(packet)).length
    receiverLosses += missing
    if (missing > 0) lostBySome++
  }
  const delta = (i: number, name: string) => (after[i][name] ?? 0) - (before[i][name] ?? 0)
  const sum = (name: string) => after.reduce((s, _, i) => s + (i === 0 ? 0 : delta(i, name)), 0)
  return {
    dataDatagrams: first.length,
    lostBySome,
    receiverLosses,
    nacksSent: sum('nacks-sent') + sum('snapshot-requests-sent'),
    nacksDirect: sum('nacks-direct'),
    nacksReceivedByOrigin: delta(0, 'nacks-received'),
    nacksOverheard: sum('nacks-overheard'),
    resends: delta(0, 'resends'),
    snapshots: delta(0, 'snapshots-sent'),
  }
}
