// Repair at the bench lab's "30%" (30% lost on every link, both ways: ~51% per path) on the
// simulator, over many seeds: a 50-key burst 10 ms apart, as the bench's loss section writes
// it. Prints the time until every replica is exact (median / p90 / max), and per write the
// NACKs reaching the origin, its resends, their extra copies and its bytes on the wire.
// receiveCostMs > 0 gives every node a CPU that takes that long per datagram (SimNetwork.limitCpu),
// as N processes sharing 2 cores do: suppression then works on late news.
// LOSS=0.1 for the lab's 10%. A/B against the older rule without a second checkout: COPIES=2
// (the most copies of one resend before 2026-12-03).
// Run: npx tsx bench/micro/repair-tuning.ts N [seeds=100] [receiveCostMs=0]
import { SimNetwork } from '../../test/sim/network'
import { digestsAgree, runUntil } from '../../test/core/sim-helpers'
import { TIMERS } from '../../src/core/timers'

const N = Number(process.argv[2] ?? 20), seeds = Number(process.argv[3] ?? 100), cost = Number(process.argv[4] ?? 0)
const tuned = TIMERS as { maxResendCopies: number }
if (process.env.COPIES) tuned.maxResendCopies = Number(process.env.COPIES)
const KEYS = 50, WIRE = 42
const LOSS = Number(process.env.LOSS ?? 0.3)
const times: number[] = []
let nacks = 0, resends = 0, copies = 0, bytes = 0
const sentBytes = (n: { sent: Uint8Array[] }) => n.sent.reduce((a, d) => a + d.length + WIRE, 0)
for (let seed = 1; seed <= seeds; seed++) {
  const net = new SimNetwork(seed)
  const nodes = Array.from({ length: N }, (_, i) => net.add(`n${i}`))
  runUntil(net, 20_000, () => digestsAgree(net), 100)
  net.runFor(2000)
  if (cost > 0) for (const n of nodes) net.limitCpu(n, cost, 1e9)
  const [origin] = nodes
  const c = origin.engine.counters
  net.faults = { ...net.faults, loss: LOSS, lossOut: LOSS }
  const n0 = c.get('nacks-received'), r0 = c.get('resends'), c0 = c.get('resend-copies'), b0 = sentBytes(origin)
  for (let i = 0; i < KEYS; i++) {
    origin.engine.set(`k${i}`, seed * 1000 + i)
    net.runFor(10)
  }
  const last = net.now - 10
  const exact = () => nodes.every((n) => n === origin || Array.from({ length: KEYS }, (_, k) => k).every((k) => n.engine.get(origin.nodeId, `k${k}`) === seed * 1000 + k))
  times.push(runUntil(net, 30_000, exact, 1) ? Math.round(net.now - last) : Infinity)
  nacks += c.get('nacks-received') - n0
  resends += c.get('resends') - r0
  copies += c.get('resend-copies') - c0
  bytes += sentBytes(origin) - b0
}
times.sort((a, b) => a - b)
const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]
const perWrite = (x: number, digits: number) => +(x / seeds / KEYS).toFixed(digits)
console.log(JSON.stringify({
  N, seeds, receiveCostMs: cost, loss: LOSS, maxResendCopies: tuned.maxResendCopies,
  exactMs: { median: at(0.5), p90: at(0.9), max: times[times.length - 1] },
  perWrite: { nacksAtOrigin: perWrite(nacks, 3), resends: perWrite(resends, 2), resendCopies: perWrite(copies, 2), originBytes: perWrite(bytes, 0) },
}))
