// How cost grows on the simulator (CPU-light, deterministic): idle bytes/s per node, NACKs
// reaching the origin per Data datagram it sent at 10% / 30% loss, and time until every replica
// is exact after the last write of a lossy burst. Run: npx tsx bench/micro/scaling.ts 10 50 100
import { SimNetwork } from '../../test/sim/network'
import { digestsAgree, runUntil } from '../../test/core/sim-helpers'

const WIRE = 42
for (const N of process.argv.slice(2).map(Number)) {
  const net = new SimNetwork(N)
  const nodes = Array.from({ length: N }, (_, i) => net.add(`n${i}`))
  runUntil(net, 20_000, () => digestsAgree(net), 100)
  net.runFor(2000)
  const sent = () => nodes.reduce((s, n) => s + n.sent.reduce((a, d) => a + d.length + WIRE, 0), 0)
  const idle0 = sent()
  net.runFor(10_000)
  const idle = (sent() - idle0) / N / 10
  const row: Record<string, number> = { N, idleBytesPerSecPerNode: Math.round(idle) }
  for (const loss of [0.1, 0.3]) {
    const [origin] = nodes
    net.faults = { ...net.faults, loss }
    const nacks0 = origin.engine.counters.get('nacks-received'), data0 = origin.engine.stream.seq
    for (let i = 0; i < 50; i++) {
      origin.engine.set('k', `${loss}-${i}`)
      net.runFor(20)
    }
    const last = net.now
    let exact = -1
    try {
      if (runUntil(net, 10_000, () => nodes.every((n) => n === origin || n.engine.get(origin.nodeId, 'k') === `${loss}-49`), 1)) exact = Math.round(net.now - last)
    } catch { /* the simulator's own step guard */ }
    net.faults = { ...net.faults, loss: 0 }
    net.runFor(3000)
    const data = origin.engine.stream.seq - data0
    row[`nacksPerDatagram@${loss * 100}%`] = +((origin.engine.counters.get('nacks-received') - nacks0) / data).toFixed(2)
    row[`exactAfterLastWriteMs@${loss * 100}%`] = exact
  }
  console.log(JSON.stringify(row))
}
