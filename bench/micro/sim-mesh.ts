// The in-process setup bench/micro's per-write tools share: N engines on the simulated network,
// meshed, node0 writing one 16-byte string value at a time and node1 reading.
import { peek } from '../../test/core/sim-helpers'
import { SimNetwork, type SimNode } from '../../test/sim/network'

export interface SimMesh {
  net: SimNetwork
  writer: SimNode
  reader: SimNode
}

export const READER_FROM = '10.0.0.1:47475'

/** N nodes, 3 s of simulated time to find each other; throws if the reader does not see them all. */
export function formMesh(n: number): SimMesh {
  const net = new SimNetwork(1)
  const nodes = Array.from({ length: n }, (_, i) => net.add(`node${i}`))
  net.runFor(3000)
  const [writer, reader] = nodes
  if (reader.engine.livePeers().length !== n - 1) throw new Error('the mesh did not form')
  return { net, writer, reader }
}

/** The value of write `i`: 16 bytes, as the lab's latency writes. */
export const valueOf = (i: number): string => 'v'.repeat(8) + String(i).padStart(8, '0')

/** One write as its own tick, as an application setting one value at a time: every datagram it sent. */
export function writeOne(mesh: SimMesh, i: number): Uint8Array[] {
  mesh.writer.engine.set('temperature', valueOf(i))
  mesh.writer.engine.tick(mesh.net.now)
  return mesh.writer.engine.take().outgoing.map((o) => o.bytes)
}

/** The Data datagrams among `datagrams` (what a reader applies; heartbeats aside). */
export const dataOnly = (datagrams: Uint8Array[]): Uint8Array[] => datagrams.filter((d) => peek(d)?.type === 2)
