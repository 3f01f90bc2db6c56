// Bytes on the wire per 16 B write at N nodes, on the simulator with no loss: every datagram
// the writer sends because of the write (its Data and any tail heartbeat), plus 42 B of
// Ethernet, IPv4 and UDP headers each. Also idle bytes/s per node.
// Run: npx tsx bench/micro/bytes.ts [N=10]
import { SimNetwork } from '../../test/sim/network'

const N = Number(process.argv[2] ?? 10)
const WIRE = 42
const net = new SimNetwork(3)
const nodes = Array.from({ length: N }, (_, i) => net.add(`node${i}`))
net.runFor(5000)
const [writer] = nodes
const writes = 200
let bytes = 0, frames = 0
for (let i = 0; i < writes; i++) {
  const before = writer.sent.length
  writer.engine.set('temperature', 'v'.repeat(8) + String(i).padStart(8, '0'))
  // 500 ms apart: each write pays its own datagrams, heartbeats apart.
  net.runFor(60)
  for (const d of writer.sent.slice(before)) { bytes += d.length + WIRE; frames++ }
  net.runFor(440)
}
const idleStart = nodes.map((n) => n.sent.reduce((s, d) => s + d.length + WIRE, 0))
net.runFor(20_000)
const idle = nodes.map((n, i) => n.sent.reduce((s, d) => s + d.length + WIRE, 0) - idleStart[i])
console.log(JSON.stringify({ N, bytesPerWrite: Math.round(bytes / writes), framesPerWrite: +(frames / writes).toFixed(2), idleBytesPerSecPerNode: Math.round(idle.reduce((a, b) => a + b, 0) / N / 20) }))
