// Where the NACKs at high loss come from (simulator): for each NACK reaching the origin, was the
// datagram it names already resent (the repair was lost: a new round) or not yet (a duplicate
// that suppression missed)? Run: npx tsx bench/micro/nack-rounds.ts 20 0.3 [seed] [receiveCostMs]
// receiveCostMs > 0 gives every node a CPU that takes that long to read one datagram
// (SimNetwork.limitCpu), as N processes sharing 2 cores do: suppression then works on late news.
import { SimNetwork } from '../../test/sim/network'
import { digestsAgree, runUntil } from '../../test/core/sim-helpers'

const N = Number(process.argv[2] ?? 20), loss = Number(process.argv[3] ?? 0.3), seed = Number(process.argv[4] ?? N)
const receiveCostMs = Number(process.argv[5] ?? 0)
const net = new SimNetwork(seed)
const nodes = Array.from({ length: N }, (_, i) => net.add(`n${i}`))
runUntil(net, 20_000, () => digestsAgree(net), 100)
net.runFor(2000)
const [origin] = nodes
const resentAt = new Map<number, number>()
let duplicates = 0, afterRepair = 0, nacks = 0
const repair = origin.engine.originRepair
const handle = repair.handleNack.bind(repair)
repair.handleNack = (ranges, wantSnapshot, requester, now) => {
  nacks++
  let dup = false, after = false
  for (const [a, b] of ranges) for (let s = a; s <= b; s++) {
    const at = resentAt.get(s)
    if (at === undefined) continue
    if (now - at < 2) dup = true
    else after = true
  }
  if (after) afterRepair++
  else if (dup) duplicates++
  const before = origin.engine.counters.get('resends')
  handle(ranges, wantSnapshot, requester, now)
  if (origin.engine.counters.get('resends') > before) for (const [a, b] of ranges) for (let s = a; s <= b; s++) if (!resentAt.has(s)) resentAt.set(s, now)
}
if (receiveCostMs > 0) for (const node of nodes) net.limitCpu(node, receiveCostMs, Infinity)
net.faults = { ...net.faults, loss }
const seq0 = origin.engine.stream.seq
for (let i = 0; i < 200; i++) {
  origin.engine.set('k', i)
  net.runFor(20)
}
net.faults = { ...net.faults, loss: 0 }
net.runFor(3000)
const data = origin.engine.stream.seq - seq0
console.log(JSON.stringify({ N, loss, datagrams: data, nacksPerDatagram: +(nacks / data).toFixed(2), firstRound: nacks - duplicates - afterRepair, duplicates, afterRepair, overheard: nodes.reduce((s, n) => s + n.engine.counters.get('nacks-overheard'), 0), suppressed: nodes.reduce((s, n) => s + n.engine.counters.get('nacks-suppressed'), 0) }))
