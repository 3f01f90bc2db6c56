// Time until every replica is exact after a lossy burst (simulator, many seeds): the tail that a
// real-socket run of 5 repetitions samples too thinly. 50 keys written 10 ms apart at the given
// loss; `out` adds loss as datagrams leave their sender (for every receiver at once), so
// `0.3 0.3` is the bench lab's "30%" on every link in both directions (about 51% per path).
// Run: npx tsx bench/micro/exact-under-loss.ts N loss [out=0] [seeds=40] [first seed=1]
import { BURST_KEYS, lossBurst, quantile } from './loss-burst'

const N = Number(process.argv[2] ?? 10), loss = Number(process.argv[3] ?? 0.3)
const lossOut = Number(process.argv[4] ?? 0), seeds = Number(process.argv[5] ?? 40), firstSeed = Number(process.argv[6] ?? 1)
const runs = Array.from({ length: seeds }, (_, i) => lossBurst({ N, seed: firstSeed + i, loss, lossOut }))
const times = runs.map((r) => r.exactMs).sort((a, b) => a - b)
const perWrite = (f: (r: (typeof runs)[number]) => number) => +(runs.reduce((s, r) => s + f(r), 0) / seeds / BURST_KEYS).toFixed(2)
const at = (q: number) => quantile(times, q)
console.log(JSON.stringify({ N, loss, lossOut, seeds, firstSeed, exactMs: { median: at(0.5), p90: at(0.9), p98: at(0.98), max: times[times.length - 1], over1s: times.filter((ms) => ms > 1000).length }, nacksAtOriginPerWrite: perWrite((r) => r.nacks), resendsPerWrite: perWrite((r) => r.resends) }))
