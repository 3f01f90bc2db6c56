// Security on the simulated LAN: replays, old incarnations, impostors, other clusters and
// strict mode are refused and counted, and change nothing.
import t from 'tap'
import { seededRandom } from '../sim/random'
import { SimNetwork } from '../sim/network'
import { deltaBody, freshSigner, Insider } from '../fuzz/forge'
import { digestsAgree, filterReceive, mismatches, peek, runUntil } from './sim-helpers'
import { randomBytes } from 'node:crypto'
import { open, seal } from '../../src/seal/envelope'
import { deriveNetworkKey } from '../../src/seal/keys'
import { hasOurMac, macTrailer, type PairKey } from '../../src/seal/pair-keys'
import { MessageType } from '../../src/wire/constants'
import { encodeFrame } from '../../src/wire/frame'
import { TEST_KEY } from '../sim/network'

const SNIFF = deriveNetworkKey(TEST_KEY, 'default')
const CLUSTER = new TextEncoder().encode('default')

function updatesOf(node: { events: Array<{ type: string }> }): number {
  return node.events.filter((e) => e.type === 'update').length
}

t.test('a capture replayed (shuffled, twice) and an old incarnation replayed change nothing', async (t) => {
  const net = new SimNetwork(51, { loss: 0.1 })
  const [a, b, c] = ['a', 'b', 'c'].map((id) => net.add(id))
  t.ok(runUntil(net, 5000, () => digestsAgree(net)))
  for (let i = 0; i < 20; i++) {
    a.engine.set(`k${i % 5}`, i)
    b.engine.set('big', 'x'.repeat(2000 + i))
    if (i % 4 === 3) a.engine.delete(`k${i % 5}`)
    net.runFor(10)
  }
  t.ok(runUntil(net, 5000, () => digestsAgree(net)))
  const capture = [...a.sent, ...b.sent]
  // b restarts: what it sent before is now an old incarnation.
  net.kill(b)
  net.runFor(100)
  net.restart(b)
  b.engine.set('fresh', 1)
  t.ok(runUntil(net, 5000, () => digestsAgree(net)))
  const before = updatesOf(c)
  const dropsBefore = c.engine.counters.toJSON()
  const random = seededRandom(5)
  const shuffled = [...capture, ...capture].sort(() => random.next() - 0.5)
  // Straight into c's receive path, so the count is not mixed with the live traffic's own duplicates.
  for (const bytes of shuffled) c.engine.receive(bytes, '10.0.0.250:47475', 'multicast', net.now)
  const after = c.engine.counters.toJSON()
  net.runFor(500)
  const delta = (k: string) => (after[k] ?? 0) - (dropsBefore[k] ?? 0)
  t.equal(updatesOf(c), before, `${shuffled.length} replayed datagrams: no update`)
  t.ok(delta('dropped.replay') > 0, `dropped.replay +${delta('dropped.replay')}`)
  t.ok(delta('dropped.old-incarnation') > 0, `dropped.old-incarnation +${delta('dropped.old-incarnation')}`)
  // A replayed NACK is counted as a NACK copy (a repeated NACK goes out twice as one datagram,
  // docs/PROTOCOL.md section 9): refused all the same.
  t.equal(delta('dropped.replay') + delta('dropped.old-incarnation') + delta('dropped.duplicate') + delta('ignored.nack-copies'), shuffled.length, 'every one refused and counted')
  t.same(mismatches(net), [])
  t.same({ ...c.engine.state('b') }, { fresh: 1 }, "b's old state did not come back")
})

t.test('an impostor with its own key, another cluster, and strict mode', async (t) => {
  const net = new SimNetwork(52)
  const [a, b] = ['a', 'b'].map((id) => net.add(id))
  t.ok(runUntil(net, 5000, () => digestsAgree(net)))
  a.engine.set('real', true)
  t.ok(runUntil(net, 1000, () => digestsAgree(net)))
  const random = seededRandom(6)
  const impostor = new Insider({ nodeId: 'a', incarnation: a.engine.incarnation + 1, signer: freshSigner(random), random })
  net.inject(b, impostor.heartbeat(1))
  net.inject(b, impostor.data(1, 0, 1, deltaBody({ real: false })))
  const sameIncarnation = new Insider({ nodeId: 'a', incarnation: a.engine.incarnation, signer: freshSigner(random), random })
  sameIncarnation.setPacket(100_000)
  net.inject(b, sameIncarnation.data(a.engine.stream.seq + 1, 0, 1, deltaBody({ real: false })))
  const otherCluster = new Insider({ nodeId: 'a', incarnation: a.engine.incarnation, signer: freshSigner(random), random, cluster: 'elsewhere' })
  net.inject(b, otherCluster.heartbeat(1))
  const otherKey = new Insider({ nodeId: 'z', incarnation: 1, signer: freshSigner(random), random, networkKey: 'b'.repeat(64) })
  net.inject(b, otherKey.heartbeat(1))
  net.runFor(100)
  const c = b.engine.counters
  t.equal(c.get('dropped.key-mismatch'), 1, 'a heartbeat announcing another key for "a": key-mismatch')
  t.equal(c.get('dropped.bad-signature'), 2, 'data signed by another key: bad-signature')
  t.equal(c.get('dropped.auth-failed'), 1, 'another cluster: auth-failed (the cluster is in the AEAD key and data)')
  t.equal(c.get('dropped.unknown-key'), 1, 'another network key: unknown-key')
  t.equal(b.engine.get('a', 'real'), true, 'the real value stands')
  t.equal(b.engine.peers.get('a')?.incarnation, a.engine.incarnation, 'and the real incarnation')

  // Strict mode: only listed keys are admitted.
  const strict = new SimNetwork(53)
  const allowed = strict.add('allowed')
  const key = Buffer.from(allowed.engine.sealer.publicKey).toString('hex')
  const guard = strict.add('guard', { allowedKeys: [key] })
  strict.add('outsider', { allowedKeys: [key] })
  strict.runFor(3000)
  t.same(guard.engine.livePeers().map((p) => p.nodeId), ['allowed'], 'strict mode admits only the allowed key')
  t.ok(guard.engine.counters.get('dropped.not-allowed') > 0, `dropped.not-allowed ${guard.engine.counters.get('dropped.not-allowed')}`)
})

t.test('receiver MACs: keyed peers skip signatures, and no member can forge or replay them', async (t) => {
  const net = new SimNetwork(54)
  const [a, b, m] = ['a', 'b', 'mallory'].map((id) => net.add(id))
  t.ok(runUntil(net, 5000, () => digestsAgree(net)))
  net.runFor(200)
  a.engine.set('real', 1)
  net.runFor(50)
  const last = a.sent.map((bytes) => ({ bytes, opened: open([SNIFF], CLUSTER, bytes) })).filter((x) => x.opened.ok && peek(x.bytes)?.type === MessageType.Data).at(-1)
  t.ok(last && last.opened.ok && last.opened.value.macs !== null && last.opened.value.signature === null, 'a write between keyed peers carries MACs, no signature')
  t.ok(a.engine.counters.get('datagrams-maced') > 0)
  t.equal(b.engine.get('a', 'real'), 1)
  const peerA = b.engine.peers.get('a')
  t.ok(peerA?.macIn && peerA.macOut, 'b holds both pair keys for a')

  // mallory holds the network key and its own identity; it claims origin "a".
  const before = b.engine.counters.toJSON()
  const head = { origin: 'a', incarnation: a.engine.incarnation, packet: a.engine.sealer.lastPacket + 5 }
  const forged = encodeFrame({ type: MessageType.Data, ...head, seq: a.engine.stream.seq + 1, index: 0, count: 1, chunk: deltaBody({ real: 666 }) })
  const key = deriveNetworkKey(TEST_KEY, 'default')
  const nonce = (i: number) => Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9, 0, 0, 0, i)
  // 1. MACs under mallory's own pair key with b (the best key it has).
  const mToB = m.engine.peers.get('b')?.macOut
  t.ok(mToB, 'mallory is keyed with b')
  net.inject(b, seal(key, CLUSTER, nonce(1), forged, null, macTrailer([mToB as PairKey], forged)))
  // 2. Guessed MACs: 1 to 24 random 6-byte entries, each a guess at b's.
  for (let i = 0; i < 20; i++) {
    net.inject(b, seal(key, CLUSTER, nonce(2 + i), forged, null, randomBytes(6 * (1 + (i % 24)))))
  }
  // 3. a's real MAC'd datagram, replayed.
  if (last) net.inject(b, last.bytes)
  // 4. A Goodbye "from a" with mallory's MAC.
  const bye = encodeFrame({ type: MessageType.Goodbye, ...head, packet: head.packet + 1 })
  net.inject(b, seal(key, CLUSTER, nonce(40), bye, null, macTrailer([mToB as PairKey], bye)))
  net.runFor(50)
  const after = b.engine.counters.toJSON()
  const delta = (k: string) => (after[k] ?? 0) - (before[k] ?? 0)
  t.equal(b.engine.get('a', 'real'), 1, 'the forged write was not taken')
  t.ok(b.engine.peers.get('a')?.replica, 'the forged goodbye did not take a down')
  t.equal(delta('macs-not-for-us'), 22, 'no forged entry passed as b\'s MAC from a')
  t.equal(delta('dropped.unsigned'), 22, 'so each forgery was unproven, and Data and Goodbye must be proven')
  t.equal(delta('dropped.replay'), 1, 'the replay refused')
  t.equal(b.eventsOf('peer-down').length, 0)

  // 5. mallory announces a's X25519 key as its own, signed by mallory: it learns nothing it can use.
  const copycat = new Insider({ nodeId: 'copycat', incarnation: 1, signer: freshSigner(seededRandom(9)), random: seededRandom(10) })
  const hb = copycat.seal({ type: MessageType.Heartbeat, seq: 0, digest: new Uint8Array(8), publicKey: copycat.signer.publicKey, dhKey: a.engine.sealer.dhPublicKey, unicastOnly: 0, report: Uint8Array.of(0) }, true)
  net.inject(b, hb)
  net.runFor(50)
  const cc = b.engine.peers.get('copycat')
  t.ok(cc?.macIn && peerA?.macIn && Buffer.compare(cc.macIn.key, peerA.macIn.key) !== 0, 'its pair key differs from a\'s: the identities are in the derivation')
})

t.test('a relay forwarding others from an address we also loop back through is not taken for us', async (t) => {
  const net = new SimNetwork(55)
  const [a, b] = ['a', 'b'].map((id) => net.add(id))
  t.ok(runUntil(net, 5000, () => digestsAgree(net)))
  net.runFor(1500)
  // The simulator does not loop multicast back: hand a its own last datagram, as the kernel would.
  a.engine.receive(a.sent[a.sent.length - 1], a.address, 'multicast', net.now)
  t.ok(a.engine.selfAddresses.has(a.address), 'a knows its own address from its looped-back datagrams')
  net.partition([a], [b])
  b.engine.set('via-relay', 1)
  net.runFor(5)
  const data = b.sent.filter((d) => peek(d)?.type === MessageType.Data).at(-1) as Uint8Array
  net.heal()
  const own = a.engine.counters.get('own-datagrams')
  a.engine.receive(data, a.address, 'multicast', net.now)
  t.equal(a.engine.get('b', 'via-relay'), 1, "b's datagram from a's own address is still opened and applied")
  t.equal(a.engine.counters.get('own-datagrams'), own, 'and not counted as ours')
  a.engine.receive(a.sent[a.sent.length - 1], a.address, 'multicast', net.now)
  t.equal(a.engine.counters.get('own-datagrams'), own + 1, 'while our own (our salt, our address) is')
})

t.test('heartbeats: signed every 16th; MACs only within 10 s of loss; one without our MAC never brings its origin back up', async (t) => {
  const net = new SimNetwork(57)
  const [a, b] = ['a', 'b', 'c'].map((id) => net.add(id))
  t.ok(runUntil(net, 5000, () => digestsAgree(net)))
  const heartbeatsOf = (sent: Uint8Array[]) => sent.filter((bytes) => peek(bytes)?.type === MessageType.Heartbeat).map((bytes) => ({ bytes, opened: open([SNIFF], CLUSTER, bytes) }))
  const proofOf = ({ opened }: { opened: ReturnType<typeof open> }) => (!opened.ok ? 'bad' : opened.value.signature ? 'signed' : opened.value.macs ? 'macs' : 'none')
  let from = a.sent.length
  net.runFor(40_000)
  const clean = heartbeatsOf(a.sent.slice(from)).map(proofOf)
  t.ok(clean.length >= 36, `${clean.length} heartbeats in 40 s`)
  const signed = clean.filter((p) => p === 'signed').length
  t.ok(signed >= 2 && signed <= 3, `${signed} of ${clean.length} signed: every 16th`)
  t.equal(clean.filter((p) => p === 'none').length, clean.length - signed, 'no proof on the others: no loss was seen')

  // A NACK reaches a: its heartbeats carry MACs for the next 10 s, then none again.
  let lost = 0
  filterReceive(b, (bytes) => lost === 0 && peek(bytes)?.origin === 'a' && peek(bytes)?.type === MessageType.Data && ++lost > 0)
  a.engine.set('x', 1)
  net.runFor(10)
  a.engine.set('x', 2)
  t.ok(runUntil(net, 3000, () => a.engine.counters.get('nacks-received') > 0), `b lost ${lost} datagram and its NACK reached a`)
  from = a.sent.length
  net.runFor(8000)
  const lossy = heartbeatsOf(a.sent.slice(from)).map(proofOf)
  t.equal(lossy.filter((p) => p === 'none').length, 0, `within 10 s of the NACK: ${lossy.join(' ')}`)
  // b's receiver report shows the loss for its 8-heartbeat window, then 10 s more.
  net.runFor(15_000)
  from = a.sent.length
  net.runFor(5000)
  t.equal(heartbeatsOf(a.sent.slice(from)).map(proofOf).filter((p) => p === 'macs').length, 0, 'no MACs again once the loss is 10 s old')

  // a and b lose each other. One of a's heartbeats reaching b is unproven there (no proof, or a
  // MAC for c alone): b asks for an introduction and keeps a down.
  net.partition([a], [b])
  t.ok(runUntil(net, 10_000, () => b.eventsOf('peer-down').some((e) => e.event.nodeId === 'a') && a.eventsOf('peer-down').some((e) => e.event.nodeId === 'b')), 'each took the other down')
  const before = a.sent.length
  net.runFor(1500)
  const aAtB = b.engine.peers.get('a')
  const forB = (o: ReturnType<typeof open>) => o.ok && o.value.macs !== null && aAtB?.macIn !== undefined && aAtB.macIn !== null && hasOurMac(aAtB.macIn, o.value.frame, o.value.macs)
  const unproven = heartbeatsOf(a.sent.slice(before)).find(({ opened }) => opened.ok && !opened.value.signature && !forB(opened))
  t.ok(unproven, 'a sent a heartbeat without a proof for b')
  const ups = b.eventsOf('peer-up').length
  const refused = b.engine.counters.get('dropped.unknown-origin')
  const pings = b.engine.counters.get('pings-sent')
  if (unproven) net.inject(b, unproven.bytes, a.address)
  net.runFor(1)
  t.equal(b.eventsOf('peer-up').length, ups, 'it did not bring a back up')
  t.equal(b.engine.counters.get('dropped.unknown-origin'), refused + 1, 'it was refused as an unknown origin')
  t.equal(b.engine.counters.get('pings-sent'), pings + 1, 'and b asked a to introduce itself')
  net.heal()
  t.ok(runUntil(net, 3000, () => b.eventsOf('peer-up').length > ups), 'after the heal, a proven frame brings a back up')
  t.ok(runUntil(net, 5000, () => digestsAgree(net)))
})

t.test('a receiver more than 64 packets behind a clean-link origin asks it alone for a signed heartbeat', async (t) => {
  const net = new SimNetwork(58)
  const [a, b] = ['a', 'b', 'c'].map((id) => net.add(id))
  t.ok(runUntil(net, 5000, () => digestsAgree(net)))
  // Right after one of a's heartbeats, b loses everything of a's for 100 writes (~0.3 s).
  const sent = a.sent.length
  t.ok(runUntil(net, 2000, () => a.sent.slice(sent).some((bytes) => peek(bytes)?.type === MessageType.Heartbeat)))
  // Heard by b: regular heartbeats leave on the grid, at the very end of a run slice.
  net.runFor(1)
  let deaf = true
  filterReceive(b, (bytes) => deaf && peek(bytes)?.origin === 'a')
  for (let i = 0; i < 100; i++) {
    a.engine.set(`k${i % 10}`, i)
    net.runFor(3)
  }
  deaf = false
  const hearing = net.now
  const ahead = b.engine.counters.get('dropped.unsigned-ahead')
  const direct = b.engine.counters.get('pings-direct')
  t.ok(runUntil(net, 1500, () => b.engine.counters.get('dropped.unsigned-ahead') > ahead), "a's next heartbeat is too far ahead of what b last took from a")
  t.equal(b.engine.counters.get('pings-direct'), direct + 1, 'b asked a alone for a signed heartbeat')
  t.ok(runUntil(net, 1000, () => b.engine.get('a', 'k9') === 99), `and caught up ${Math.round(net.now - hearing)} ms after hearing a again`)
  t.equal(b.eventsOf('peer-down').length, 0, 'without taking a down')
})
