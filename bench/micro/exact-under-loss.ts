// Time until every replica is exact after a lossy burst (simulator, many seeds): the tail that a
// real-socket run of 5 repetitions samples too thinly. 50 keys written 10 ms apart at the given
// loss; `out` adds loss as datagrams leave their sender (for every receiver at once), so
// `0.3 0.3` is the bench lab's "30%" on every link in both directions (about 51% per path).
// Run: npx tsx bench/micro/exact-under-loss.ts N loss [out=0] [seeds=40]
import { SimNetwork } from '../../test/sim/network'
import { digestsAgree, runUntil } from '../../test/core/sim-helpers'

const N = Number(process.argv[2] ?? 10), loss = Number(process.argv[3] ?? 0.3)
const lossOut = Number(process.argv[4] ?? 0), seeds = Number(process.argv[5] ?? 40)
const KEYS = 50
const times: number[] = []
let nacks = 0, resends = 0
for (let seed = 1; seed <= seeds; seed++) {
  const net = new SimNetwork(seed)
  const nodes = Array.from({ length: N }, (_, i) => net.add(`n${i}`))
  runUntil(net, 20_000, () => digestsAgree(net), 100)
  net.runFor(2000)
  const [origin] = nodes
  net.faults = { ...net.faults, loss, lossOut }
  const nacks0 = origin.engine.counters.get('nacks-received'), resends0 = origin.engine.counters.get('resends')
  for (let i = 0; i < KEYS; i++) {
    origin.engine.set(`k${i}`, seed * 1000 + i)
    net.runFor(10)
  }
  const last = net.now - 10
  const exact = () => nodes.every((n) => n === origin || Array.from({ length: KEYS }, (_, k) => k).every((k) => n.engine.get(origin.nodeId, `k${k}`) === seed * 1000 + k))
  times.push(runUntil(net, 30_000, exact, 1) ? Math.round(net.now - last) : Infinity)
  nacks += origin.engine.counters.get('nacks-received') - nacks0
  resends += origin.engine.counters.get('resends') - resends0
}
times.sort((a, b) => a - b)
const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]
console.log(JSON.stringify({ N, loss, lossOut, seeds, exactMs: { median: at(0.5), p90: at(0.9), p98: at(0.98), max: times[times.length - 1] }, nacksAtOriginPerWrite: +(nacks / seeds / KEYS).toFixed(2), resendsPerWrite: +(resends / seeds / KEYS).toFixed(2) }))
