// Probes for hostile-input bugs found in src/ by the fuzzer and the hostile tests, each a
// small targeted attack with a verdict: ok = the bug is fixed. Kept out of the fuzzer's main
// stream so that stream checks everything else. Not a test itself.
import { SimNetwork, type SimNode } from '../sim/network'
import { seededRandom } from '../sim/random'
import { digestsAgree, runUntil } from '../core/sim-helpers'
import { collector } from './harness'
import { deltaBody, freshSigner, Insider } from './forge'

export interface Probe {
  name: string
  ok: boolean
  detail: string
  /** Where in src/ the fix belongs. */
  where: string
}

const FROM = '10.0.0.98:47475'

function pair(seed: number, options: Record<string, unknown> = {}): { net: SimNetwork; victim: SimNode; other: SimNode } {
  const net = new SimNetwork(seed)
  const victim = net.add('victim', options)
  const other = net.add('alice')
  if (!runUntil(net, 5000, () => digestsAgree(net))) throw new Error('probe: nodes did not meet')
  return { net, victim, other }
}

/** An insider that is a member: admitted by a signed heartbeat, then silent (the test drives it). */
function member(net: SimNetwork, victim: SimNode, nodeId: string, seed: number): Insider {
  const insider = new Insider({ nodeId, incarnation: 7, signer: freshSigner(seededRandom(seed)), random: seededRandom(seed + 1) })
  victim.engine.receive(insider.heartbeat(0), FROM, 'multicast', net.now)
  net.drain(victim)
  return insider
}

/** One unsigned heartbeat in an honest node's name, packet number near 2^53: no signature needed. */
export function unsignedForgery(seed: number): Probe {
  const { net, victim, other } = pair(seed)
  other.engine.set('before', 1)
  runUntil(net, 1000, () => digestsAgree(net))
  const forger = new Insider({ nodeId: 'alice', incarnation: other.engine.incarnation, signer: freshSigner(seededRandom(seed)), random: seededRandom(seed + 2) })
  forger.setPacket(Number.MAX_SAFE_INTEGER - 1)
  victim.engine.receive(forger.heartbeat(0, false), FROM, 'multicast', net.now)
  net.drain(victim)
  other.engine.set('after', 2)
  const ok = runUntil(net, 8000, () => victim.engine.get('alice', 'after') === 2)
  const c = victim.engine.counters
  return {
    name: 'unsigned forgery poisons the replay window',
    ok,
    detail: ok
      ? 'after a forged unsigned heartbeat the victim still takes alice\'s writes'
      : `after ONE forged unsigned heartbeat (alice's id and incarnation, packet 2^53-2, sealed with the network key only) the victim refuses all of alice's datagrams: dropped.replay=${c.get('dropped.replay')}, peers-down.timeout=${c.get('peers-down.timeout')}, alice up=${Boolean(victim.engine.peers.get('alice')?.replica)} 8 s later; alice's write never arrives`,
    where: 'src/core/inbound.ts receive(): `known.window.accept(frame.incarnation, frame.packet)` also runs for unsigned Heartbeat/Nack/Ping frames of the current incarnation',
  }
}

/** Fragments of bodies that can never complete, one per sequence number, empty chunks. */
export function fragmentFlood(seed: number, frames = 30_000): Probe {
  const { net, victim } = pair(seed)
  const m = member(net, victim, 'flooder', seed)
  const gc = collector()
  gc()
  const heap0 = process.memoryUsage().heapUsed
  for (let seq = 1; seq <= frames; seq++) victim.engine.receive(m.data(seq, 0, 2 ** 40, new Uint8Array(0)), FROM, 'multicast', net.now)
  victim.engine.take()
  gc()
  const grewMB = (process.memoryUsage().heapUsed - heap0) / 2 ** 20
  const replica = victim.engine.peers.get('flooder')?.replica as unknown as { assembling: Map<number, unknown> } | undefined
  const held = replica?.assembling.size ?? 0
  const ok = held <= 4096
  return {
    name: 'fragment flood grows reassembly without bound',
    ok,
    detail: `${frames} signed fragments (seq 1, 2, 3..., index 0, count 2^40, empty chunk) from one member: the victim holds ${held} unfinished bodies, heap +${grewMB.toFixed(1)} MB (grows linearly: the byte limit counts chunk bytes only, and a body whose numbers were taken by other bodies is never dropped)`,
    where: 'src/core/replica.ts receive(): no bound on the number of bodies being assembled, no check that count fits the reassembly limit, no eviction once `contiguous` passes a body',
  }
}

/** A delta whose value is a cyclic structure (CBOR tags 28/29, which cbor-x decodes). */
export function cyclicValue(seed: number): Probe {
  const { net, victim } = pair(seed)
  const m = member(net, victim, 'cycler', seed)
  // [0, "k", h'd81c81d81d00']: a delta setting k to 28([29(0)]), an array that contains itself.
  const body = Buffer.from('8300616b46d81c81d81d00', 'hex')
  let error = ''
  try {
    victim.engine.receive(m.data(1, 0, 1, body), FROM, 'multicast', net.now)
  } catch (err) {
    error = `${(err as Error).name}: ${(err as Error).message}`
  }
  let messageError = ''
  try {
    // The same value as a direct message's data.
    const frame = Buffer.concat([Buffer.from('87', 'hex'), Buffer.from([0x06]), Buffer.from([0x66]), Buffer.from('cycler'), Buffer.from([0x07, 0x19, 0x03, 0xe8]), Buffer.from([0x66]), Buffer.from('victim'), Buffer.from([0x01]), Buffer.from('d81c81d81d00', 'hex')])
    victim.engine.receive(m.raw(frame, true), FROM, 'multicast', net.now)
  } catch (err) {
    messageError = `${(err as Error).name}: ${(err as Error).message}`
  }
  const messages = victim.engine.take().events.filter((e) => e.type === 'message').length
  return {
    name: 'a cyclic CBOR value crashes the receiver',
    ok: error === '',
    detail: error
      ? `one signed datagram from any member makes Engine.receive throw "${error}" (the shell does not catch it: the node process dies)${messages ? `; as a direct message the cyclic value is delivered to the application (${messages} message event)` : ''}${messageError ? `; as a message: ${messageError}` : ''}`
      : 'a cyclic value is refused without an exception',
    where: 'src/core/body.ts decodeBody() and src/wire/frame.ts (message data) hand what cbor-x decodes, tags 28/29 included, to toPlainValue(), whose walk must refuse a cycle before replica.ts write() freezes the value',
  }
}

/** Members with fresh identities come and go: every one is pinned forever. */
export function identityChurn(seed: number, identities = 1500): Probe {
  const { net, victim } = pair(seed, { maxPeers: 16 })
  const random = seededRandom(seed + 3)
  for (let i = 0; i < identities; i++) {
    const m = new Insider({ nodeId: `churn${i}`, incarnation: 1, signer: freshSigner(random), random })
    victim.engine.receive(m.heartbeat(0), FROM, 'multicast', net.now)
    if (i % 16 === 15) {
      net.drain(victim)
      net.runFor(2500) // they fall silent and time out, making room
    }
  }
  const pinned = victim.engine.pinned.size
  const bound = 4 * victim.config.maxPeers // the documented bound (docs/PROTOCOL.md 15.2)
  return {
    name: 'pinned keys grow without bound',
    ok: pinned <= bound,
    detail: `${identities} fresh identities, 16 at a time (maxPeers 16), each heartbeats once: the victim pins ${pinned} node ids (peers map ${victim.engine.peers.size}); the shell rewrites pinned.json with all of them at every new pin`,
    where: 'src/core/inbound.ts newPeer(): `pinned.set` is unbounded (and src/node/dsnode.ts persistPins() rewrites the whole file each time)',
  }
}

/** A member writes more than the receiver's own limits allow a node to hold. */
export function replicaSize(seed: number): Probe {
  const { net, victim } = pair(seed, { maxStateBytes: 256 * 1024, maxValueBytes: 16 * 1024 })
  const m = member(net, victim, 'hoarder', seed)
  const chunk = 1200
  let seq = 0
  const value = 'H'.repeat(60 * 1024)
  for (let k = 0; k < 20; k++) {
    const body = deltaBody({ [`v${k}`]: value })
    const count = Math.ceil(body.length / chunk)
    for (let i = 0; i < count; i++) victim.engine.receive(m.data(seq + 1 + i, i, count, body.subarray(i * chunk, (i + 1) * chunk)), FROM, 'multicast', net.now)
    seq += count
  }
  victim.engine.take()
  const replica = victim.engine.peers.get('hoarder')?.replica
  const held = replica ? replica.keys().reduce((sum, k) => sum + String(replica.get(k)).length, 0) : 0
  const ok = held <= victim.config.maxStateBytes
  return {
    name: "a peer's replica ignores maxValueBytes and maxStateBytes",
    ok,
    detail: `a member writes 20 values of 60 KiB; the victim (maxValueBytes 16 KiB, maxStateBytes 256 KiB) holds ${replica?.size ?? 0} of them, ${(held / 1024).toFixed(0)} KiB: a replica is bounded only by maxKeysPerNode x maxReassemblyBytes (4096 x ~4 MiB by default)`,
    where: 'src/core/replica.ts write()/applyBody(): no per-value or per-replica byte limit',
  }
}

/** A key named __proto__ sets the prototype of the object state() returns. */
export function protoKey(seed: number): Probe {
  const { net, victim } = pair(seed)
  const m = member(net, victim, 'proto', seed)
  // JSON.parse makes "__proto__" an own key, as a decoded CBOR map would.
  const entries = JSON.parse('{"__proto__": {"polluted": true}, "plain": 1}') as Record<string, unknown>
  victim.engine.receive(m.data(1, 0, 1, deltaBody(entries)), FROM, 'multicast', net.now)
  const state = victim.engine.state('proto') as Record<string, unknown>
  const ok = Object.keys(state).includes('__proto__') && !('polluted' in state)
  return {
    name: 'a "__proto__" key is lost from state()',
    ok,
    detail: ok ? 'state() lists the key' : `state() = ${JSON.stringify(state)} with keys [${Object.keys(state).join(', ')}]; "polluted" in state = ${'polluted' in state} (the key became the object's prototype)`,
    where: 'src/core/replica.ts and src/core/own-state.ts snapshot(): `out[key] = value` on a plain object; use Object.create(null) or defineProperty',
  }
}

/** Peer lists from one member naming arbitrary addresses: the victim sends to all of them. */
export function peerListFanOut(seed: number, frames = 100): Probe {
  const { net, victim } = pair(seed)
  const m = member(net, victim, 'lister', seed)
  for (let i = 0; i < frames; i++) {
    const addresses = Array.from({ length: 64 }, (_, j) => `198.51.${(i * 64 + j) >> 8}.${(i * 64 + j) & 255}:${1000 + i}`)
    victim.engine.receive(m.seal({ type: 8, addresses } as never, true), FROM, 'multicast', net.now)
  }
  victim.engine.take()
  const fanOut = victim.engine.groupTargets(net.now).length
  const candidates = victim.engine.candidates.size
  const ok = candidates <= 256
  return {
    name: 'peer lists make a node send to any address',
    ok,
    detail: `${frames} signed peer lists of 64 made-up addresses (198.51.x.y, outside the LAN) from one member: the victim keeps ${candidates} candidates for 120 s and sends every group datagram (heartbeats included) to each by unicast: ${fanOut} unicast copies per heartbeat`,
    where: 'src/core/inbound.ts dispatch() case Peers -> engine.addCandidate(): no bound on candidates, no check that an address is on our subnet or was ever heard; groupTargets() unicasts to every candidate',
  }
}

/** Our own datagrams replayed from many source addresses: each is remembered as "self". */
export function selfAddresses(seed: number, sources = 20_000): Probe {
  const { net, victim } = pair(seed)
  victim.engine.set('k', 1)
  net.runFor(50)
  const own = victim.sent.slice(-1)[0]
  for (let i = 0; i < sources; i++) victim.engine.receive(own, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:${1024 + (i % 60000)}`, 'multicast', net.now)
  victim.engine.take()
  const size = victim.engine.selfAddresses.size
  return {
    name: 'own datagrams from many sources grow selfAddresses',
    ok: size <= 64,
    detail: `one of the victim's own datagrams replayed from ${sources} source addresses (no key needed: a capture suffices): selfAddresses holds ${size}, and those addresses can never become candidates`,
    where: 'src/core/inbound.ts receive(): `selfAddresses.add(from)` for every datagram whose origin is us, before any check of who sent it',
  }
}

/** Every probe, in a fixed order. */
export function runProbes(seed: number): Probe[] {
  return [unsignedForgery(seed), cyclicValue(seed), fragmentFlood(seed), identityChurn(seed), replicaSize(seed), protoKey(seed), peerListFanOut(seed), selfAddresses(seed)]
}
