// Security on the simulated LAN: replays, old incarnations, impostors, other clusters and
// strict mode are refused and counted, and change nothing.
import t from 'tap'
import { seededRandom } from '../sim/random'
import { SimNetwork } from '../sim/network'
import { deltaBody, freshSigner, Insider } from '../fuzz/forge'
import { digestsAgree, mismatches, runUntil } from './sim-helpers'

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
  t.equal(delta('dropped.replay') + delta('dropped.old-incarnation') + delta('dropped.duplicate'), shuffled.length, 'every one refused and counted')
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
