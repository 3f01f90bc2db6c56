// Limits a user can hit get typed errors with stable codes; the engine state is unchanged after.
import t from 'tap'
import { SimNetwork } from '../sim/network'
import { digestsAgree, runUntil } from './sim-helpers'

t.test('write limits throw DsnError codes and change nothing', async (t) => {
  const net = new SimNetwork(41)
  const a = net.add('a', { maxKeysPerNode: 4, maxValueBytes: 100, maxKeyBytes: 8, maxStateBytes: 1024 })
  const b = net.add('b')
  t.ok(runUntil(net, 5000, () => digestsAgree(net)))
  for (let i = 0; i < 4; i++) a.engine.set(`k${i}`, i)
  t.throws(() => a.engine.set('k4', 4), { code: 'DSN_TOO_MANY_KEYS', name: 'DsnError' }, 'a fifth key')
  t.doesNotThrow(() => a.engine.set('k3', 'replaced'), 'an existing key may still change')
  t.throws(() => a.engine.set('k0', 'x'.repeat(101)), { code: 'DSN_VALUE_TOO_LARGE' }, 'a value over maxValueBytes')
  t.doesNotThrow(() => a.engine.set('k0', 'x'.repeat(90)), 'a value just under it')
  t.throws(() => a.engine.set('ninechars', 1), { code: 'DSN_BAD_KEY' }, 'a key over maxKeyBytes')
  t.throws(() => a.engine.set('ééééé', 1), { code: 'DSN_BAD_KEY' }, 'maxKeyBytes counts UTF-8 bytes (5 chars, 10 bytes)')
  t.throws(() => a.engine.set('', 1), { code: 'DSN_BAD_KEY' }, 'an empty key')
  t.throws(() => a.engine.set(42 as unknown as string, 1), { code: 'DSN_BAD_KEY' }, 'a key that is not a string')
  t.throws(() => a.engine.set('k1', undefined), { code: 'DSN_BAD_VALUE' }, 'undefined (use delete)')
  t.throws(() => a.engine.set('k1', () => 1), { code: 'DSN_BAD_VALUE' }, 'a function')
  t.throws(() => a.engine.delete('ninechars'), { code: 'DSN_BAD_KEY' }, 'delete checks the key too')
  t.throws(() => a.engine.sendMessage('b', 'm'.repeat(2000), net.now), { code: 'DSN_MESSAGE_TOO_LARGE' }, 'a direct message over one datagram')
  t.ok(runUntil(net, 2000, () => digestsAgree(net)), 'the failed writes left nothing behind: origin and replica agree')
  t.same(Object.keys({ ...b.engine.state('a') }).sort(), ['k0', 'k1', 'k2', 'k3'])
})

t.test('state size limit counts keys and values', async (t) => {
  const net = new SimNetwork(42)
  const a = net.add('a', { maxStateBytes: 1024, maxValueBytes: 600 })
  a.engine.set('one', 'x'.repeat(500))
  t.throws(() => a.engine.set('two', 'x'.repeat(520)), { code: 'DSN_STATE_TOO_LARGE' })
  a.engine.delete('one')
  t.doesNotThrow(() => a.engine.set('two', 'x'.repeat(520)), 'room again after a delete')
})

t.test('a receiver with a smaller maxKeysPerNode holds at most that many keys of a peer', async (t) => {
  const net = new SimNetwork(43)
  const origin = net.add('origin', { maxKeysPerNode: 100 })
  const small = net.add('small', { maxKeysPerNode: 10 })
  t.ok(runUntil(net, 5000, () => small.engine.peers.get('origin')?.replica != null))
  for (let i = 0; i < 50; i++) origin.engine.set(`k${i}`, i)
  net.runFor(2000)
  const replica = small.engine.peers.get('origin')?.replica
  t.equal(replica?.size, 10, 'ten keys kept, the rest refused: memory stays bounded')
  const c = small.engine.counters
  const before = origin.engine.counters.get('snapshots-sent')
  net.runFor(10_000)
  const during = origin.engine.counters.get('snapshots-sent') - before
  t.comment(`in 10 s idle: small digest-mismatches=${c.get('digest-mismatches')} snapshot-requests-sent=${c.get('snapshot-requests-sent')}; origin sent ${during} more snapshots`)
  t.ok(c.get('dropped.peer-over-limits') > 0, `refused keys are counted (dropped.peer-over-limits ${c.get('dropped.peer-over-limits')})`)
  // Refused keys stay in the receiver's digest as hashes, so it matches the origin's.
  t.equal(c.get('digest-mismatches'), 0, 'the digest compares what both ends saw: no mismatch')
  t.ok(during <= 1, `no endless snapshot loop (${during} snapshots in 10 s idle)`)
})
