// A refusal never loops (issue 14): a receiver keeps each entry it can, counts the rest, and
// the writer's idle traffic stays at idle levels with a key in its state that a reader refuses.
import t from 'tap'
import { cbor } from '../../src/wire/frame'
import { SimNetwork, type SimNode } from '../sim/network'
import { runUntil } from './sim-helpers'

const IDLE_MS = 300_000

function deep(levels: number): unknown {
  let v: unknown = 'bottom'
  for (let i = 0; i < levels; i++) v = [v]
  return v
}

/** Bytes the writer sent during IDLE_MS of simulated idle time after the writes settled. */
function idleBytes(net: SimNetwork, writer: SimNode): number {
  net.runFor(5000)
  const before = writer.engine.counters.get('bytes-sent')
  net.runFor(IDLE_MS)
  return writer.engine.counters.get('bytes-sent') - before
}

function cluster(seed: number, readerOptions: Record<string, unknown> = {}): { net: SimNetwork; writer: SimNode; reader: SimNode } {
  const net = new SimNetwork(seed)
  const writer = net.add('writer')
  const reader = net.add('reader', readerOptions)
  return { net, writer, reader }
}

t.test('baseline and a key a smaller reader refuses cost the same idle traffic', async (t) => {
  const base = cluster(1401, { maxValueBytes: 1000 })
  for (let i = 0; i < 20; i++) base.writer.engine.set(`k${i}`, i)
  t.ok(runUntil(base.net, 5000, () => base.reader.engine.get('writer', 'k19') === 19))
  const baseline = idleBytes(base.net, base.writer)

  const over = cluster(1401, { maxValueBytes: 1000 })
  for (let i = 0; i < 20; i++) over.writer.engine.set(`k${i}`, i)
  over.writer.engine.set('big', 'x'.repeat(2000)) // fine for the writer (default limit), over the reader's
  t.ok(runUntil(over.net, 5000, () => over.reader.engine.get('writer', 'k19') === 19), 'the keys written in the same tick arrive')
  const refusedIdle = idleBytes(over.net, over.writer)
  const c = over.reader.engine.counters
  t.equal(over.reader.engine.get('writer', 'big'), undefined, 'the value over the reader limit is not held')
  t.ok(c.get('dropped.peer-over-limits') >= 1, 'and is counted')
  t.equal(c.get('digest-mismatches'), 0, 'its hash stays in the digest: no mismatch, no snapshot request')
  t.comment(`writer idle bytes over ${IDLE_MS / 1000} s: baseline ${baseline}, with a refused key ${refusedIdle}`)
  t.ok(refusedIdle <= baseline * 1.05 + 200, `idle traffic stays at idle level (${refusedIdle} vs ${baseline} B)`)
})

t.test('a key too long for a reader, set and then deleted: the digests agree after both', async (t) => {
  const net = new SimNetwork(1402)
  const writer = net.add('writer', { maxKeyBytes: 256 })
  const reader = net.add('reader') // maxKeyBytes 128, the default
  const long = 'x'.repeat(200) // fine for the writer, over the reader's limit
  writer.engine.set('k', 1)
  t.ok(runUntil(net, 5000, () => reader.engine.get('writer', 'k') === 1))
  writer.engine.set(long, 'v')
  net.runFor(5000)
  writer.engine.delete(long)
  net.runFor(5000)
  const c = reader.engine.counters
  t.equal(c.get('dropped.peer-over-limits'), 2, 'the set and the delete of a key over our limit are both counted refusals')
  t.equal(c.get('digest-mismatches'), 0, 'the delete took the refused key\'s hash out: no mismatch, no snapshot request')
  t.equal(c.get('snapshot-requests-sent'), 0)
})

t.test('an entry no reader accepts (injected past the writer check) is refused alone and backed off', async (t) => {
  const base = cluster(1402)
  base.writer.engine.set('ok', 1)
  t.ok(runUntil(base.net, 5000, () => base.reader.engine.get('writer', 'ok') === 1))
  const baseline = idleBytes(base.net, base.writer)

  const { net, writer, reader } = cluster(1402)
  // An older or foreign writer: its own state holds a value nested 100 deep, which set() now
  // refuses; forced in below the check, in the same tick as a sound key.
  writer.engine.own.set('deep', { value: null, bytes: cbor.encode(deep(100)) })
  writer.engine.set('ok', 1)
  t.ok(runUntil(net, 5000, () => reader.engine.get('writer', 'ok') === 1), 'the sound key of the same body arrives')
  const idle = idleBytes(net, writer)
  const c = reader.engine.counters
  const requests = c.get('snapshot-requests-sent')
  t.equal(reader.engine.get('writer', 'deep'), undefined, 'the refused entry is not held')
  t.equal(reader.engine.counters.get('dropped.malformed-body'), 0, 'no whole body is refused')
  t.ok(reader.engine.counters.get('dropped.peer-over-limits') >= 1, 'the refused entry is counted')
  // Backoff 1, 2, 4, ... 32, then every 60 s: about 11 requests in 305 s, not 300.
  t.ok(requests >= 2 && requests <= 14, `snapshot requests back off exponentially (${requests} in ${(IDLE_MS + 5000) / 1000} s)`)
  t.comment(`writer idle bytes over ${IDLE_MS / 1000} s: baseline ${baseline}, with an unacceptable entry ${idle}; requests ${requests}`)
  t.ok(idle <= baseline * 1.25, `idle traffic stays near idle level (${idle} vs ${baseline} B)`)
})

t.test('set() refuses what a receiver would refuse, with a clear DsnError', async (t) => {
  const { writer } = cluster(1403)
  const e = writer.engine
  t.throws(() => e.set('d', deep(65)), { code: 'DSN_BAD_VALUE', message: /nested deeper than 64/ }, 'depth 65')
  t.throws(() => e.set('d', deep(2000)), { code: 'DSN_BAD_VALUE', message: /nested deeper than 64/ }, 'depth 2000: no stack overflow')
  t.doesNotThrow(() => e.set('d', deep(63)), 'depth 63 is fine')
  t.throws(() => e.set('😀'.slice(0, 1) + '-temp', 1), { code: 'DSN_BAD_KEY', message: /surrogate/ }, 'a key with a lone surrogate')
  t.throws(() => e.set('s', { name: '\udc00x' }), { code: 'DSN_BAD_VALUE', message: /value\.name .*surrogate/ }, 'a string value with one')
  t.doesNotThrow(() => e.set('😀-temp', '😀'), 'a whole emoji is fine')
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  t.throws(() => e.set('c', cyclic), { code: 'DSN_BAD_VALUE', message: /cycle/ })
  class Reading { constructor(readonly celsius: number) {} }
  t.throws(() => e.set('r', new Reading(3)), { code: 'DSN_BAD_VALUE', message: /Reading instance/ })
})

t.test('bytes and __proto__ are plain data on the writer and on replicas alike', async (t) => {
  const { net, writer, reader } = cluster(1404)
  const value = JSON.parse('{"__proto__": {"x": 1}, "raw": null}') as Record<string, unknown>
  value.raw = Buffer.from([1, 2, 3])
  writer.engine.set('__proto__', value)
  t.ok(runUntil(net, 5000, () => reader.engine.get('writer', '__proto__') !== undefined))
  for (const [side, got] of [['writer', writer.engine.get('writer', '__proto__')], ['replica', reader.engine.get('writer', '__proto__')]] as const) {
    const v = got as Record<string, unknown>
    t.same(Object.keys(v), ['__proto__', 'raw'], `${side}: __proto__ is a member`)
    t.equal(Object.getPrototypeOf(v), Object.prototype, `${side}: the prototype is untouched`)
    t.same(Object.getOwnPropertyDescriptor(v, '__proto__')?.value, { x: 1 })
    t.equal((v.raw as Uint8Array).constructor, Uint8Array, `${side}: bytes are a Uint8Array, not a Buffer`)
    t.same([...(v.raw as Uint8Array)], [1, 2, 3])
  }
  t.same(Object.keys(writer.engine.state('writer') ?? {}), ['__proto__'], 'the key __proto__ is in the own state')
  t.same(Object.keys(reader.engine.state('writer') ?? {}), ['__proto__'], 'and in the replica state')
})
