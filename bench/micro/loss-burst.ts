// One lossy burst on the simulator, as the bench's loss section writes it: N nodes meet, then
// the origin writes 50 keys 10 ms apart under `loss` (per receiver) and `lossOut` (as a datagram
// leaves its sender: `0.3 0.3` is the bench lab's "30%", about 51% per path). Shared by
// exact-under-loss.ts and repair-tuning.ts.
import { SimNetwork } from '../../test/sim/network'
import { digestsAgree, runUntil } from '../../test/core/sim-helpers'

export const BURST_KEYS = 50
/** Ethernet, IPv4 and UDP headers per datagram, for bytes on the wire. */
const WIRE = 42

export interface BurstOptions {
  N: number
  seed: number
  loss: number
  lossOut: number
  /** > 0: every node takes this long per datagram (SimNetwork.limitCpu), as N processes on 2 cores. */
  receiveCostMs?: number
}

export interface BurstResult {
  /** From the last write until every replica holds every key; Infinity past 30 s. */
  exactMs: number
  nacks: number
  resends: number
  resendCopies: number
  originBytes: number
}

export function lossBurst({ N, seed, loss, lossOut, receiveCostMs = 0 }: BurstOptions): BurstResult {
  const net = new SimNetwork(seed)
  const nodes = Array.from({ length: N }, (_, i) => net.add(`n${i}`))
  runUntil(net, 20_000, () => digestsAgree(net), 100)
  net.runFor(2000)
  if (receiveCostMs > 0) for (const n of nodes) net.limitCpu(n, receiveCostMs, 1e9)
  const [origin] = nodes
  const c = origin.engine.counters
  const sentBytes = () => origin.sent.reduce((a, d) => a + d.length + WIRE, 0)
  net.faults = { ...net.faults, loss, lossOut }
  const n0 = c.get('nacks-received'), r0 = c.get('resends'), c0 = c.get('resend-copies'), b0 = sentBytes()
  for (let i = 0; i < BURST_KEYS; i++) {
    origin.engine.set(`k${i}`, seed * 1000 + i)
    net.runFor(10)
  }
  const last = net.now - 10
  const holdsAll = (n: (typeof nodes)[number]) => Array.from({ length: BURST_KEYS }, (_, k) => k).every((k) => n.engine.get(origin.nodeId, `k${k}`) === seed * 1000 + k)
  const exact = runUntil(net, 30_000, () => nodes.every((n) => n === origin || holdsAll(n)), 1)
  return {
    exactMs: exact ? Math.round(net.now - last) : Infinity,
    nacks: c.get('nacks-received') - n0,
    resends: c.get('resends') - r0,
    resendCopies: c.get('resend-copies') - c0,
    originBytes: sentBytes() - b0,
  }
}

/** The q-quantile of sorted times (nearest rank below). */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}
