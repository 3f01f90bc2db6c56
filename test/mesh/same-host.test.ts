// Multicast loopback only where another node shares the host (src/net/udp-transport.ts): on a
// bridge, a node alone on its host never reads its own multicast back; a second node on that
// host makes both loop theirs, and each hears the other.
import t from 'tap'
import { createLab } from '../lab/netns'
import { allSee, MeshAgent } from './agent'
import { spawnInLoopback } from './loopback'

void spawnInLoopback(t, `${__dirname}/fixtures/same-host.ts`, 'the loopback flag and the group-port count, on 127.0.0.1 in a private namespace')

t.test('on a bridge: no own multicast back while alone on the host; a second node on it turns loopback on for both', async (t) => {
  const lab = await createLab({ hosts: 2, prefix: 'dsnsh' })
  t.teardown(() => lab.destroy())
  const [alone, other] = await Promise.all([0, 1].map((h) => MeshAgent.start(lab, h, { nodeId: `h${h}`, mdns: false })))
  await allSee([alone, other], ['h0', 'h1'])
  const looped = async (a: MeshAgent) => ((await a.status()).multicast as { loopback: boolean }).loopback
  const own = async (a: MeshAgent) => (await a.status()).counters['own-datagrams'] ?? 0
  t.equal(await looped(alone), false, 'h0, alone on its host: loopback off')

  await alone.request({ op: 'set', key: 'x', value: 1 })
  // Once h1 holds it, the datagram has left h0; a looped copy would have been read long since.
  await other.waitValue('h0', 'x', 1)
  t.equal(await own(alone), 0, 'h0 read none of its own datagrams back')

  const second = await MeshAgent.start(lab, 0, { nodeId: 'h0b', mdns: false })
  await allSee([alone, other, second], ['h0', 'h0b', 'h1'])
  t.equal(await looped(second), true, "h0b found h0's socket on the group port: loopback on")
  t.equal(await looped(alone), true, 'h0 turned loopback on when datagrams came from its own address')
  await alone.request({ op: 'set', key: 'y', value: 2 })
  await Promise.all([other.waitValue('h0', 'y', 2), second.waitValue('h0', 'y', 2)])
  await second.request({ op: 'set', key: 'z', value: 3 })
  await alone.waitValue('h0b', 'z', 3)
  t.ok((await own(alone)) > 0, 'now its multicast comes back to h0 too (the counter sees loopback)')
  for (const a of [alone, other, second]) await a.stop()
})
