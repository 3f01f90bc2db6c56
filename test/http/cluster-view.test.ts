// The dashboard's memory: history per numeric key and down nodes, bounded, on a fake clock.
import t from 'tap'
import { ClusterView, HISTORY_POINTS, HISTORY_SPACING_MS, MAX_DOWN_NODES, MAX_SERIES, numeric } from '../../src/http/cluster-view'
import { FakeNode } from '../daemon/fakes'

function setup() {
  const node = new FakeNode({ nodeId: 'self', networkKey: 'ab'.repeat(32) })
  let now = 1_000_000
  const clock = { advance: (ms: number) => (now += ms) }
  node.set('start', 1)
  const view = new ClusterView(node, '1.0.0', () => now)
  return { node, view, clock }
}

type History = Record<string, Record<string, Array<[number, number]>>>

t.test('history: a point per write, merged under the spacing, capped per key', async (t) => {
  const { node, view, clock } = setup()
  const history = () => view.snapshot(true).history as History
  t.same(history().self.start, [[1_000_000, 1]], 'values present at start are the first points')
  node.set('t', 1)
  clock.advance(HISTORY_SPACING_MS - 1)
  node.set('t', 2)
  t.same(history().self.t, [[1_000_000, 2]], 'a write within the spacing replaces the last value')
  for (let i = 0; i < HISTORY_POINTS + 10; i++) {
    clock.advance(HISTORY_SPACING_MS)
    node.set('t', i)
  }
  const points = history().self.t
  t.equal(points.length, HISTORY_POINTS)
  t.same(points[points.length - 1][1], HISTORY_POINTS + 9, 'the newest are kept')
  node.set('t', 'not a number')
  t.notOk('t' in history().self, 'a key that turns non-numeric loses its chart')
  node.set('door', true)
  t.same(history().self.door.map((p) => p[1]), [1], 'booleans chart as 0/1')
  node.delete('door')
  t.notOk('door' in history().self, 'a deleted key loses its chart')
  t.equal(numeric(2n), 2)
  t.equal(numeric('3'), undefined)
})

t.test('series and down nodes are bounded; peers come back up', async (t) => {
  const { node, view } = setup()
  for (let i = 0; i < MAX_SERIES + 50; i++) node.remoteSet('peer', `k${i}`, i)
  const history = view.snapshot(true).history as History
  t.equal(Object.values(history).reduce((n, keys) => n + Object.keys(keys).length, 0), MAX_SERIES, 'at most MAX_SERIES series')
  t.notOk('k0' in history.peer, 'the least recently written go first')
  for (let i = 0; i < MAX_DOWN_NODES + 5; i++) {
    node.peerUp(`gone${i}`)
    node.peerDown(`gone${i}`, 'timeout')
  }
  const down = view.snapshot().nodes.filter((n) => !n.up)
  t.equal(down.length, MAX_DOWN_NODES)
  t.notOk(down.some((n) => n.nodeId === 'gone0'), 'the oldest down node is forgotten')
  node.peerUp(`gone${MAX_DOWN_NODES + 4}`)
  t.match(view.snapshot().nodes.find((n) => n.nodeId === `gone${MAX_DOWN_NODES + 4}`), { up: true })
  const values = view.numericValues()
  t.equal(values.values.length + values.omitted, MAX_SERIES + 50 + 1, 'dsn_value: every numeric value counted')
  view.close()
  t.equal(node.listenerCount('update'), 0, 'close lets go of the node')
})
