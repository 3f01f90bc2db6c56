// The in-process setup bench/micro's per-write tools share: N engines on the simulated network,
// meshed, node0 writing one 16-byte string value at a time and node1 reading.
import { open, seal } from '../../src/seal/envelope'
import { deriveNetworkKey, type NetworkKey } from '../../src/seal/keys'
import { hasOurMac, macTrailer, type PairKey } from '../../src/seal/pair-keys'
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

/** The secure floor's steps on the mesh's own keys (what bench/agents/stores.ts does per datagram). */
export interface SecureFloorSteps {
  key: NetworkKey
  cluster: Uint8Array
  nonce: Uint8Array
  /** The writer's pair keys, one per reader; `macIn`: the reader's from the writer. */
  receivers: PairKey[]
  macIn: PairKey
  /** The floor's JSON payload of write `i`. */
  payload(i: number): Uint8Array
  /** JSON.stringify, MACs, seal. */
  seal(i: number): Uint8Array
  /** AEAD open, our MAC, JSON.parse, one Map.set; throws if the datagram is refused. */
  receive(datagram: Uint8Array): void
}

export function secureFloorSteps(mesh: SimMesh, n: number): SecureFloorSteps {
  const { writer, reader } = mesh
  const config = writer.engine.config
  const key = deriveNetworkKey(config.networkKey, config.cluster)
  const cluster = new TextEncoder().encode(config.cluster)
  const receivers = [...writer.engine.peers.values()].map((p) => p.macOut).filter((k): k is PairKey => k !== null)
  const macIn = reader.engine.peers.get(writer.nodeId)?.macIn
  if (!macIn || receivers.length !== n - 1) throw new Error('pair keys missing')
  const nonce = new Uint8Array(12)
  const replica = new Map<string, unknown>()
  const payload = (i: number): Uint8Array => new TextEncoder().encode(JSON.stringify({ o: writer.nodeId, k: 'temperature', v: valueOf(i) }))
  return {
    key, cluster, nonce, receivers, macIn, payload,
    seal(i) {
      const p = payload(i)
      return seal(key, cluster, nonce, p, null, macTrailer(receivers, p))
    },
    receive(datagram) {
      const opened = open([key], cluster, datagram)
      if (!opened.ok || !opened.value.macs || !hasOurMac(macIn, opened.value.frame, opened.value.macs)) throw new Error('floor datagram refused')
      const m = JSON.parse(new TextDecoder().decode(opened.value.frame)) as { k: string; v: unknown }
      replica.set(m.k, m.v)
    },
  }
}
