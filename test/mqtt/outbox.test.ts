// The bridge's coalescing outbox: one pending payload per topic, bounded, in last-write order.
import t from 'tap'
import { Outbox } from '../../src/mqtt/outbox'

const drain = (o: Outbox) => {
  const out: [string, string][] = []
  for (let e = o.take(); e; e = o.take()) out.push(e)
  return out
}

t.test('only the latest payload per topic is pending', async (t) => {
  const o = new Outbox(100)
  for (let i = 0; i < 10_000; i++) o.put('dsn/c/n/t', String(i))
  o.put('dsn/c/n/h', '1')
  t.equal(o.size, 2, 'a flood of writes to one key costs one entry')
  t.same(drain(o), [['dsn/c/n/t', '9999'], ['dsn/c/n/h', '1']])
})

t.test('a topic written again moves to the back', async (t) => {
  const o = new Outbox(100)
  o.put('state', '1')
  o.put('config', '{}')
  o.put('state', '"x"')
  t.same(drain(o), [['config', '{}'], ['state', '"x"']], 'the config goes out before the state it describes')
})

t.test('retry puts a failed payload back unless a newer one is pending', async (t) => {
  const o = new Outbox(100)
  o.retry('a', 'old')
  o.put('b', 'new')
  o.retry('b', 'old')
  t.same(drain(o), [['a', 'old'], ['b', 'new']])
})

t.test('bounded: the oldest entries go first and are counted', async (t) => {
  const o = new Outbox(3)
  for (const k of ['a', 'b', 'c', 'd', 'e']) o.put(k, k)
  t.equal(o.size, 3)
  t.equal(o.dropped, 2)
  t.same(drain(o).map(([k]) => k), ['c', 'd', 'e'])
})
