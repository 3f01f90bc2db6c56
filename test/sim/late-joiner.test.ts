// Regression: a receiver far behind an origin (further than its out-of-order window) must
// still accept the snapshot that brings it up to date.
import t from 'tap'
import { SimNetwork } from './network'

t.test('a late joiner 25,000 sequence numbers behind converges through one snapshot', async (t) => {
  const net = new SimNetwork(3)
  const origin = net.add('origin', { historySize: 16 })
  // One datagram per write, so the origin's sequence passes the receiver's window (20,480).
  for (let i = 0; i < 25_000; i++) {
    origin.engine.set(`k${i % 50}`, i)
    net.runFor(0.01)
  }
  t.equal(origin.engine.stream.seq, 25_000)
  const joiner = net.add('joiner')
  const same = () => JSON.stringify(joiner.engine.state('origin')) === JSON.stringify(origin.engine.state('origin'))
  t.ok(net.runFor(5000, same), `converged at t=${Math.round(net.now)} ms`)
  t.equal(Object.keys(joiner.engine.state('origin') ?? {}).length, 50)
  t.equal(origin.engine.counters.get('snapshots-sent'), 1, 'one snapshot, no resends of old history')
  t.equal(joiner.engine.counters.get('window-evictions'), 0)
})
