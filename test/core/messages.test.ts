// Direct messages on the simulated LAN: acknowledged, retried under loss, delivered once.
import t from 'tap'
import { SimNetwork } from '../sim/network'
import { digestsAgree, runUntil } from './sim-helpers'

t.test('direct messages at 30% loss and 20% duplicates: every one acked, each delivered once', async (t) => {
  const net = new SimNetwork(31, { loss: 0.3, duplicate: 0.2, jitterMs: 2 })
  // A longer send timeout than the default: 30% loss each way fails about half the attempts.
  const options = { sendTimeoutMs: 6000 }
  const [a, b, c] = ['a', 'b', 'c'].map((id) => net.add(id, options))
  t.ok(runUntil(net, 5000, () => digestsAgree(net)))
  const COUNT = 30
  const ids: number[] = []
  for (let i = 0; i < COUNT; i++) {
    ids.push(a.engine.sendMessage('b', { i, text: `hello ${i}` }, net.now))
    net.drain(a)
    net.runFor(5)
  }
  const done = runUntil(net, 8000, () => a.eventsOf('message-acked').length + a.eventsOf('message-failed').length >= COUNT, 5)
  t.ok(done, 'every message was settled')
  t.same(a.eventsOf('message-acked').map((e) => e.messageId).sort((x, y) => x - y), ids, 'every message was acknowledged')
  t.same(a.eventsOf('message-failed'), [], 'none failed')
  const got = b.eventsOf('message').map((e) => e.event)
  t.equal(got.length, COUNT, `b got ${got.length} message events for ${COUNT} messages`)
  t.same(got.map((m) => (m.data as { i: number }).i).sort((x, y) => x - y), [...Array(COUNT).keys()], 'each exactly once')
  t.ok(got.every((m) => m.from === 'a'))
  t.equal(c.eventsOf('message').length, 0, 'a third node sees none of them')
  const sent = a.engine.counters.get('messages-sent')
  t.ok(sent > COUNT, `retried under loss: ${sent} transmissions for ${COUNT} messages`)
  t.comment(`messages-sent=${sent}, b dropped ${b.engine.counters.get('dropped.replay')} replayed/duplicate datagrams`)
})

t.test('a message to a node that dies fails; to an unknown node throws', async (t) => {
  const net = new SimNetwork(32)
  const [a, b] = ['a', 'b'].map((id) => net.add(id))
  t.ok(runUntil(net, 5000, () => digestsAgree(net)))
  net.kill(b)
  const id = a.engine.sendMessage('b', 'anyone?', net.now)
  net.drain(a)
  t.ok(runUntil(net, 5000, () => a.eventsOf('message-failed').length > 0, 5), 'failed')
  t.same(a.eventsOf('message-failed').map((e) => [e.messageId, e.nodeId]), [[id, 'b']])
  t.throws(() => a.engine.sendMessage('nobody', 1, net.now), { code: 'DSN_UNKNOWN_PEER' })
  t.throws(() => a.engine.sendMessage('b', 1, net.now), { code: 'DSN_UNKNOWN_PEER' }, 'b is down by now')
})
