// Repair at the bench lab's "30%" (30% lost on every link, both ways: ~51% per path) on the
// simulator, over many seeds: a 50-key burst 10 ms apart, as the bench's loss section writes
// it. Prints the time until every replica is exact (median / p90 / max), and per write the
// NACKs reaching the origin, its resends, their extra copies and its bytes on the wire.
// receiveCostMs > 0 gives every node a CPU that takes that long per datagram (SimNetwork.limitCpu),
// as N processes sharing 2 cores do: suppression then works on late news.
// LOSS=0.1 for the lab's 10%. A/B against the older rule without a second checkout: COPIES=2
// (the most copies of one resend before 2026-12-03).
// Run: npx tsx bench/micro/repair-tuning.ts N [seeds=100] [receiveCostMs=0]
import { TIMERS } from '../../src/core/timers'
import { BURST_KEYS, lossBurst, quantile } from './loss-burst'

const N = Number(process.argv[2] ?? 20), seeds = Number(process.argv[3] ?? 100), cost = Number(process.argv[4] ?? 0)
const tuned = TIMERS as { maxResendCopies: number }
if (process.env.COPIES) tuned.maxResendCopies = Number(process.env.COPIES)
const LOSS = Number(process.env.LOSS ?? 0.3)
const runs = Array.from({ length: seeds }, (_, i) => lossBurst({ N, seed: i + 1, loss: LOSS, lossOut: LOSS, receiveCostMs: cost }))
const times = runs.map((r) => r.exactMs).sort((a, b) => a - b)
const perWrite = (f: (r: (typeof runs)[number]) => number, digits: number) => +(runs.reduce((s, r) => s + f(r), 0) / seeds / BURST_KEYS).toFixed(digits)
console.log(JSON.stringify({
  N, seeds, receiveCostMs: cost, loss: LOSS, maxResendCopies: tuned.maxResendCopies,
  exactMs: { median: quantile(times, 0.5), p90: quantile(times, 0.9), max: times[times.length - 1] },
  perWrite: { nacksAtOrigin: perWrite((r) => r.nacks, 3), resends: perWrite((r) => r.resends, 2), resendCopies: perWrite((r) => r.resendCopies, 2), originBytes: perWrite((r) => r.originBytes, 0) },
}))
