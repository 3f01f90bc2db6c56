// The writer's hand-written CBOR (src/wire/fast-write.ts, the data frame in frame.ts, the body
// in core/body.ts) against cbor-x's encoder, byte for byte: every head size, the integer and
// float boundaries where cbor-x changes form, ASCII and UTF-8 text, and seeded random values.
import t from 'tap'
import { encodeBody, type BodyEntry } from '../../src/core/body'
import { BodyKind, MessageType } from '../../src/wire/constants'
import { encodeScalarItem } from '../../src/wire/fast-write'
import { cbor, encodeFrame, type DataFrame } from '../../src/wire/frame'

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

t.test('scalars: the bytes cbor-x writes', async (t) => {
  const boundaries = [0, 1, 23, 24, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53]
  const numbers = [...boundaries, ...boundaries.map((n) => -n), ...boundaries.map((n) => -n - 1), -(2 ** 32) - 1, -0, 0.5, -0.5, 21.5, 1e300, -1e-300, 5e-324, NaN, Infinity, -Infinity, Math.fround(1.1)]
  const strings = ['', 'a', 'lat', 'x'.repeat(23), 'x'.repeat(24), 'x'.repeat(64), 'x'.repeat(65), 'x'.repeat(255), 'x'.repeat(256), 'x'.repeat(65536), 'é', 'temp °C', '😀'.repeat(30), 'ü'.repeat(200)]
  for (const v of [...numbers, ...strings, true, false, null]) {
    const label = typeof v === 'string' ? `string of ${v.length}` : String(Object.is(v, -0) ? '-0' : v)
    t.equal(hex(encodeScalarItem(v)), hex(cbor.encode(v)), label)
  }
  let seed = 7
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  let differ = 0
  for (let i = 0; i < 5000; i++) {
    const scale = 2 ** Math.floor(random() * 60)
    const v = i % 2 === 0 ? Math.floor((random() - 0.5) * scale) : (random() - 0.5) * scale
    if (hex(encodeScalarItem(v)) !== hex(cbor.encode(v)) && differ++ < 3) t.fail(`${v}`)
  }
  t.equal(differ, 0, '5,000 seeded random numbers')
})

t.test('bodies: the bytes of cbor-x encoding [kind, key, bytes | undefined, ...]', async (t) => {
  const value = (n: number): Uint8Array => new Uint8Array(n).fill(7)
  const cases: BodyEntry[][] = [
    [],
    [{ key: 'lat', bytes: cbor.encode(21.5) }],
    [{ key: 'gone', bytes: undefined }],
    [{ key: 'ключ', bytes: value(23) }, { key: 'k'.repeat(300), bytes: value(24) }],
    // Short ASCII keys go into the body in place, the others through their UTF-8 bytes: both, mixed.
    [{ key: 'x'.repeat(64), bytes: value(1) }, { key: 'é', bytes: undefined }, { key: 'x'.repeat(65), bytes: value(2) }, { key: '', bytes: value(3) }, { key: 'temp °C', bytes: value(4) }, { key: 'lat', bytes: value(5) }],
    Array.from({ length: 11 }, (_, i) => ({ key: `k${i}`, bytes: value(i) })),
    Array.from({ length: 12 }, (_, i) => ({ key: `k${i}`, bytes: i % 3 === 0 ? undefined : value(i * 30) })),
    Array.from({ length: 200 }, (_, i) => ({ key: `sensor/${i}`, bytes: value(1) })),
    [{ key: 'big', bytes: value(70_000) }],
  ]
  for (const kind of [BodyKind.Delta, BodyKind.Snapshot]) {
    for (const entries of cases) {
      const reference = cbor.encode([kind, ...entries.flatMap((e) => [e.key, e.bytes])])
      t.equal(hex(encodeBody(kind, entries)), hex(reference), `kind ${kind}, ${entries.length} entries`)
    }
  }
})

t.test('data frames: the bytes of cbor-x encoding the positional array', async (t) => {
  const body = encodeBody(BodyKind.Delta, [{ key: 'lat', bytes: cbor.encode(1) }])
  const frames: DataFrame[] = [
    { type: MessageType.Data, origin: 'kitchen', incarnation: 1754000000, packet: 7, seq: 1, index: 0, count: 1, chunk: body },
    { type: MessageType.Data, origin: 'ö'.repeat(64), incarnation: 0, packet: 2 ** 32, seq: 2 ** 40, index: 65535, count: 65536, chunk: new Uint8Array(0) },
    { type: MessageType.Data, origin: 'x'.repeat(24), incarnation: 2 ** 32 - 1, packet: 2 ** 53 - 1, seq: 24, index: 23, count: 24, chunk: new Uint8Array(1400).fill(1) },
  ]
  for (const f of frames) {
    const reference = cbor.encode([f.type, f.origin, f.incarnation, f.packet, f.seq, f.index, f.count, f.chunk])
    t.equal(hex(encodeFrame(f)), hex(reference), `origin of ${f.origin.length}, packet ${f.packet}`)
  }
  // Origins in turn (nodes in one process), of one length too: each frame carries its own.
  const a = encodeFrame(frames[0])
  encodeFrame(frames[1])
  t.equal(hex(encodeFrame(frames[0])), hex(a))
  for (const origin of ['node-a', 'node-b', 'node-a']) {
    const f = { ...frames[0], origin }
    t.equal(hex(encodeFrame(f)), hex(cbor.encode([f.type, origin, f.incarnation, f.packet, f.seq, f.index, f.count, f.chunk])), `origin ${origin} after another of its length`)
  }
})

t.test('data frames with numbers no receiver accepts: written as cbor-x writes them, not truncated into valid ones', async (t) => {
  const base: DataFrame = { type: MessageType.Data, origin: 'kitchen', incarnation: 1754000000, packet: 7, seq: 1, index: 0, count: 1, chunk: Uint8Array.of(1) }
  for (const field of ['incarnation', 'packet', 'seq', 'index', 'count'] as const) {
    for (const bad of [1.5, -1, -300, 2000000000.5, NaN, -Infinity]) {
      const f = { ...base, [field]: bad }
      t.equal(hex(encodeFrame(f)), hex(cbor.encode([f.type, f.origin, f.incarnation, f.packet, f.seq, f.index, f.count, f.chunk])), `${field} ${bad}`)
    }
  }
})
