// The fuzzer's world: a victim engine with two honest peers on the simulated LAN, a corpus of
// real datagrams captured from their traffic, and insiders (members gone rogue) with their
// own identities. Not a test itself.
import { isDeepStrictEqual } from 'node:util'
import { open } from '../../src/seal/envelope'
import { deriveNetworkKey } from '../../src/seal/keys'
import { cbor } from '../../src/wire/frame'
import { SimNetwork, TEST_KEY, type SimNode } from '../sim/network'
import { seededRandom } from '../sim/random'
import { digestsAgree, runUntil } from '../core/sim-helpers'
import { freshSigner, Insider } from './forge'

export const VICTIM = 'victim'
export const HONEST = ['alice', 'bob'] as const
export const INSIDERS = ['mallory0', 'mallory1', 'mallory2'] as const
export const FROM = '10.0.0.99:47475'

export interface World {
  net: SimNetwork
  victim: SimNode
  honest: SimNode[]
  /** Every datagram the three nodes sent while warming up: heartbeats, data, NACKs, resends... */
  corpus: Uint8Array[]
  /** The same, opened: frame bytes and signature, to re-seal under other keys. */
  openedCorpus: Array<{ frame: Uint8Array; signature: Uint8Array | null }>
  insiders: Insider[]
  keyId: number
}

/** Victim, alice and bob, introduced, with state, a fragmented value, deletes and messages. */
export function buildWorld(seed: number): World {
  const net = new SimNetwork(seed, { loss: 0.1, duplicate: 0.05, jitterMs: 1 })
  const victim = net.add(VICTIM)
  const honest = HONEST.map((id) => net.add(id))
  const all = [victim, ...honest]
  if (!runUntil(net, 10_000, () => digestsAgree(net))) throw new Error('fuzz world: nodes did not meet')
  const [alice, bob] = honest
  // Varied traffic for the corpus: deltas, fragments, deletes, a snapshot, messages, and at
  // 20% loss the NACKs and resends that repair them.
  net.faults = { loss: 0.2, duplicate: 0.05, jitterMs: 1, latencyMs: 0.2 }
  for (let round = 0; round < 12; round++) {
    alice.engine.set(`t${round % 4}`, 20 + round / 10)
    bob.engine.set(`h${round % 3}`, { round, list: [round, 'x'] })
    victim.engine.set('mine', `victim state ${round}`)
    if (round % 4 === 1) alice.engine.set('blob', 'b'.repeat(3000 + 500 * round))
    if (round % 4 === 3) bob.engine.delete(`h${(round + 1) % 3}`)
    if (round % 3 === 0) alice.engine.sendMessage(VICTIM, { hello: round }, net.now)
    if (round % 3 === 1) victim.engine.sendMessage('bob', { hello: round }, net.now)
    for (const n of all) net.drain(n)
    net.runFor(30)
  }
  alice.engine.set('temperature', 21.5)
  alice.engine.set('list', [1, 'two', { three: 3 }])
  bob.engine.set('bytes', new Uint8Array([1, 2, 3]))
  net.runFor(50)
  alice.engine.delete('list')
  // A silent divergence, repaired by a snapshot on the next heartbeat.
  const replica = bob.engine.peers.get('alice')?.replica as unknown as { write(k: string, v: unknown, encoded: Uint8Array, version: number, u: unknown[]): void }
  replica.write('ghost', 1, cbor.encode(1), 1, [])
  if (!runUntil(net, 10_000, () => digestsAgree(net) && alice.eventsOf('message-acked').length >= 4)) throw new Error('fuzz world: warm-up did not settle')
  net.faults = { loss: 0, duplicate: 0, jitterMs: 0, latencyMs: 0.2 }
  net.runFor(3000)
  if (!digestsAgree(net)) throw new Error('fuzz world: not converged after warm-up')
  const corpus = all.flatMap((n) => n.sent.splice(0))
  const key = deriveNetworkKey(TEST_KEY, 'default')
  const cluster = new TextEncoder().encode('default')
  const openedCorpus = corpus.flatMap((bytes) => {
    const o = open([key], cluster, bytes)
    return o.ok ? [{ frame: Uint8Array.from(o.value.frame), signature: o.value.signature && Uint8Array.from(o.value.signature) }] : []
  })
  const random = seededRandom(seed ^ 0x5eed)
  const insiders = INSIDERS.map((nodeId, i) => new Insider({ nodeId, incarnation: 1000 + i, signer: freshSigner(random), random }))
  for (const n of all) n.events.length = 0
  return { net, victim, honest, corpus, openedCorpus, insiders, keyId: key.id }
}

/** What must not change under junk: the victim's view of honest nodes, and its own state. */
export interface Baseline {
  own: Record<string, unknown>
  replicas: Map<string, { incarnation: number; entries: Array<[string, unknown]> }>
}

export function replicaEntries(node: SimNode, origin: string): Array<[string, unknown]> {
  const replica = node.engine.peers.get(origin)?.replica
  if (!replica) return []
  return replica.keys().sort().map((k) => [k, replica.get(k)])
}

export function baseline(world: World): Baseline {
  const { victim } = world
  return {
    own: { ...victim.engine.state(VICTIM) },
    replicas: new Map(HONEST.map((id) => [id, { incarnation: victim.engine.peers.get(id)?.incarnation ?? -1, entries: replicaEntries(victim, id) }])),
  }
}

/** Differences between two baselines, plus honest peers no longer up. */
export function compareBaseline(world: World, before: Baseline, after: Baseline): string[] {
  const out: string[] = []
  if (!isDeepStrictEqual(before.own, after.own)) out.push("the victim's own state changed")
  for (const id of HONEST) {
    const b = before.replicas.get(id), a = after.replicas.get(id)
    if (!world.victim.engine.peers.get(id)?.replica) out.push(`${id} is no longer up at the victim`)
    if (a?.incarnation !== b?.incarnation) out.push(`${id}'s incarnation changed at the victim: ${b?.incarnation} -> ${a?.incarnation}`)
    if (!isDeepStrictEqual(a?.entries, b?.entries)) out.push(`the victim's replica of ${id} changed`)
  }
  return out
}
