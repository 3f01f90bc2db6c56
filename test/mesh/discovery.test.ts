// Five node processes on five lab hosts, no bootstrap list: they find each other, share
// writes, deletes and a 60 KiB value, and a goodbye drops a node at once.
import t from 'tap'
import { createLab, type Lab } from '../lab/netns'
import { allSee, MeshAgent } from './agent'

const HOSTS = 5

t.test('five hosts on a bridge, zero configuration', async (t) => {
  const lab: Lab = await createLab({ hosts: HOSTS, prefix: 'dsnm1' })
  t.teardown(() => lab.destroy())
  const started = Date.now()
  const agents = await Promise.all(lab.hosts.map((h) => MeshAgent.start(lab, h.index, { nodeId: `node${h.index}` })))
  const ids = agents.map((a) => a.nodeId)
  const readyAt = Date.now()
  await allSee(agents, ids)
  const discoveredMs = Date.now() - readyAt
  t.pass(`all ${HOSTS} nodes see each other ${discoveredMs} ms after the last one started (${readyAt - started} ms to start them)`)
  for (const a of agents) t.same((await a.peers()).sort(), [...ids].sort(), `${a.nodeId} peers() lists every node, itself included`)

  const [writer, ...readers] = agents
  const wrote = Date.now()
  await writer.request({ op: 'set', key: 'temperature', value: 21.5 })
  await Promise.all(readers.map((r) => r.waitValue('node0', 'temperature', 21.5)))
  t.pass(`a write reached all ${HOSTS - 1} readers in ${Date.now() - wrote} ms`)

  const structured = { room: 'hall', readings: [1, 2.5, -3], ok: true, nested: { deep: [null, 'x'] } }
  await readers[0].request({ op: 'set', key: 'status', value: structured })
  await Promise.all([writer, ...readers.slice(1)].map((r) => r.waitValue('node1', 'status', structured)))
  t.pass('a structured CBOR value travels both ways')

  await writer.request({ op: 'del', key: 'temperature' })
  await Promise.all(readers.map((r) => r.waitValue('node0', 'temperature', undefined)))
  t.pass('a delete reaches every reader')

  const big = 'x'.repeat(60 * 1024)
  await writer.request({ op: 'set', key: 'blob', value: big })
  await Promise.all(readers.map((r) => r.waitValue('node0', 'blob', big)))
  const st = await writer.status()
  t.ok(Number(st.seq) >= 40, `the 60 KiB value was fragmented into datagrams under the MTU (origin at sequence ${String(st.seq)})`)

  const state = (await readers[2].request({ op: 'state', node: 'node1' })).state
  t.same(state, { status: structured }, 'state(node) is the whole replica')

  await agents[4].stop()
  await Promise.all(agents.slice(0, 4).map((a) => a.waitFor((e) => e.ev === 'peer-down' && e.nodeId === 'node4' && e.reason === 'goodbye', 5000)))
  t.pass('stop() says goodbye: every peer reports peer-down (goodbye)')
  await Promise.all(agents.slice(0, 4).map((a) => a.stop()))
})
