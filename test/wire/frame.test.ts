// The frame codec (src/wire/frame.ts): round trips of every message type, and every refusal
// with its exact FrameError reason (the drop counter's name).
import t from 'tap'
import { MessageType } from '../../src/wire/constants'
import { cbor, decodeFrame, encodeFrame, FrameError, type Frame } from '../../src/wire/frame'

const head = { origin: 'kitchen', incarnation: 1754000000, packet: 7 }
const samples: Frame[] = [
  { type: MessageType.Heartbeat, ...head, seq: 0, digest: new Uint8Array(8), publicKey: null, dhKey: null, unicastOnly: 0, report: Uint8Array.of(1) },
  { type: MessageType.Heartbeat, ...head, seq: 12, digest: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), publicKey: new Uint8Array(32).fill(9), dhKey: new Uint8Array(32).fill(7), unicastOnly: 6, report: Uint8Array.of(1, 0xab, 0xcd, 255, 0x12, 0x34, 0) },
  { type: MessageType.Data, ...head, seq: 1, index: 0, count: 1, chunk: Uint8Array.of(0x83, 0, 0x61, 0x6b, 1) },
  { type: MessageType.Data, ...head, seq: 9, index: 3, count: 4, chunk: Uint8Array.of(7) },
  { type: MessageType.Data, ...head, seq: 2 ** 40, index: 65534, count: 65535, chunk: new Uint8Array(65535).fill(0xaa) },
  { type: MessageType.Nack, ...head, target: 'hall', targetIncarnation: 5, ranges: [[3, 4], [7, 7]], wantSnapshot: false },
  { type: MessageType.Nack, ...head, target: 'h', targetIncarnation: 0, ranges: Array.from({ length: 64 }, (_, i): [number, number] => [2 * i + 1, 2 * i + 1]), wantSnapshot: true },
  { type: MessageType.Ping, ...head, target: 'x'.repeat(64) },
  { type: MessageType.Goodbye, origin: 'ö'.repeat(64), incarnation: 0, packet: Number.MAX_SAFE_INTEGER },
  { type: MessageType.Message, ...head, to: 'hall', messageId: 1, data: { text: 'hello', list: [1, 'two', Uint8Array.of(3)], nested: { deep: [null, true] } } },
  { type: MessageType.Message, ...head, incarnation: 2 ** 32, to: 'hall', messageId: 2 ** 53 - 1, data: null },
  { type: MessageType.Ack, ...head, to: 'hall', messageId: 1 },
  { type: MessageType.Peers, ...head, addresses: ['10.0.0.2:47474', '192.168.1.20:5000'] },
  { type: MessageType.Peers, ...head, addresses: [] },
  // A partial receiver report at its bound: 64 entries.
  { type: MessageType.Heartbeat, ...head, seq: 3, digest: new Uint8Array(8), publicKey: null, dhKey: null, unicastOnly: 3, report: Uint8Array.of(0, ...new Uint8Array(3 * 64).fill(0x5a)) },
]

/** The FrameError reason for these bytes, or 'ok'. Any other exception fails the test. */
function reason(bytes: Uint8Array): string {
  try {
    decodeFrame(bytes)
    return 'ok'
  } catch (err) {
    if (err instanceof FrameError) return err.reason
    throw err
  }
}
const raw = (fields: unknown[]): Uint8Array => cbor.encode(fields)
/** A sample frame's CBOR array with field i replaced. */
const withField = (frame: Frame, i: number, value: unknown): Uint8Array => {
  const fields = cbor.decode(encodeFrame(frame)) as unknown[]
  fields[i] = value
  return raw(fields)
}
const sample = (type: MessageType): Frame => samples.find((f) => f.type === type) as Frame
/** Byte fields as hex: tap's deep compare does not handle large Buffer vs Uint8Array well. */
const norm = (frame: Frame): Record<string, unknown> =>
  Object.fromEntries(Object.entries(frame).map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v]))

t.test('every frame type round-trips: encode, decode, re-encode, same bytes', async (t) => {
  t.same([...new Set(samples.map((f) => f.type))].sort(), [1, 2, 3, 4, 5, 6, 7, 8])
  for (const frame of samples) {
    const bytes = encodeFrame(frame)
    const decoded = decodeFrame(bytes)
    t.same(norm(decoded), norm(frame), `type ${frame.type} decodes to what was encoded`)
    t.same(Buffer.from(encodeFrame(decoded)), Buffer.from(bytes), `type ${frame.type} re-encodes to the same bytes`)
    t.equal((cbor.decode(bytes) as unknown[])[0], frame.type, 'a CBOR array whose first field is the type')
  }
})

t.test('field order on the wire', async (t) => {
  const [hb, , data] = samples
  t.same(cbor.decode(encodeFrame(hb)), [1, 'kitchen', 1754000000, 7, 0, new Uint8Array(8), null, null, 0, Uint8Array.of(1)])
  t.same(cbor.decode(encodeFrame(data)), [2, 'kitchen', 1754000000, 7, 1, 0, 1, Uint8Array.of(0x83, 0, 0x61, 0x6b, 1)])
  t.same(cbor.decode(encodeFrame(sample(MessageType.Nack))), [3, 'kitchen', 1754000000, 7, 'hall', 5, [3, 4, 7, 7], false])
  t.same(cbor.decode(encodeFrame(sample(MessageType.Ping))), [4, 'kitchen', 1754000000, 7, 'x'.repeat(64)])
  t.same(cbor.decode(encodeFrame(sample(MessageType.Ack))), [7, 'kitchen', 1754000000, 7, 'hall', 1])
  t.same(cbor.decode(encodeFrame(sample(MessageType.Peers))), [8, 'kitchen', 1754000000, 7, ['10.0.0.2:47474', '192.168.1.20:5000']])
  const goodbye = encodeFrame({ type: MessageType.Goodbye, origin: 'a', incarnation: 1, packet: 1 })
  t.equal(Buffer.from(goodbye).toString('hex'), '840561610101', 'goodbye = [5, "a", 1, 1]')
})

t.test('empty, junk and truncated input', async (t) => {
  t.equal(reason(new Uint8Array(0)), 'malformed-cbor')
  t.equal(reason(Uint8Array.of(0xff)), 'malformed-cbor')
  t.equal(reason(Uint8Array.of(0x9a, 0xff, 0xff, 0xff, 0xff)), 'malformed-cbor', 'an array header claiming 4G items')
  t.equal(reason(new Uint8Array(200_000).fill(0x81)), 'malformed-cbor', 'nesting too deep for the stack')
  for (const frame of samples.slice(0, 4).concat(samples.slice(5))) {
    const bytes = encodeFrame(frame)
    for (let n = 0; n < bytes.length; n++) {
      if (reason(bytes.subarray(0, n)) !== 'malformed-cbor') t.fail(`type ${frame.type} truncated to ${n} of ${bytes.length} bytes`)
    }
    t.equal(reason(Buffer.concat([bytes, Uint8Array.of(0)])), 'malformed-cbor', `type ${frame.type} with a trailing byte`)
  }
  for (const value of [1, 'text', { type: 1 }, null, [], [1, 'a', 1]]) t.equal(reason(cbor.encode(value)), 'malformed-frame', JSON.stringify(value))
})

t.test('seeded random bytes and mutations never throw anything but FrameError', async (t) => {
  let state = 0x2545f491
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0
    let x = Math.imul(state ^ (state >>> 15), 1 | state)
    x ^= x + Math.imul(x ^ (x >>> 7), 61 | x)
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32
  }
  const reasons = new Map<string, number>()
  const check = (bytes: Uint8Array): void => {
    const r = reason(bytes)
    reasons.set(r, (reasons.get(r) ?? 0) + 1)
    if (r === 'ok') {
      const frame = decodeFrame(bytes)
      t.same(norm(decodeFrame(encodeFrame(frame))), norm(frame), 'whatever decodes, re-encodes to the same frame')
    }
  }
  for (let i = 0; i < 5000; i++) check(Uint8Array.from({ length: Math.floor(next() * 64) }, () => Math.floor(next() * 256)))
  for (let i = 0; i < 5000; i++) {
    const bytes = Uint8Array.from(encodeFrame(samples[i % samples.length]))
    if (bytes.length > 70000) continue
    for (let k = 0; k < 1 + Math.floor(next() * 3); k++) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256)
    check(bytes)
  }
  const known = new Set(['ok', 'malformed-cbor', 'malformed-frame', 'malformed-number', 'malformed-origin', 'malformed-target', 'malformed-to',
    'malformed-bytes', 'malformed-fragment', 'malformed-nack', 'malformed-peers', 'malformed-report', 'malformed-value', 'unknown-type'])
  for (const r of reasons.keys()) t.ok(known.has(r), `reason ${r} is a documented drop counter`)
  t.ok((reasons.get('malformed-cbor') ?? 0) > 0 && (reasons.get('ok') ?? 0) > 0)
})

t.test('the header: origin, incarnation, packet, type', async (t) => {
  const frame = sample(MessageType.Ping)
  for (const bad of ['', 'x'.repeat(65), 7, null, Uint8Array.of(1), ['a']]) t.equal(reason(withField(frame, 1, bad)), 'malformed-origin', `origin ${String(bad)}`)
  t.equal(reason(withField(frame, 1, 'x'.repeat(64))), 'ok', 'a 64-character origin is allowed')
  for (const i of [2, 3]) {
    for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53, '1', null, true, Uint8Array.of(1), 2n ** 64n - 1n]) {
      t.equal(reason(withField(frame, i, bad)), 'malformed-number', `field ${i} = ${String(bad)}`)
    }
  }
  t.equal(reason(withField(frame, 3, 0)), 'malformed-frame', 'packet numbers start at 1')
  t.equal(reason(withField(frame, 2, 0)), 'ok', 'incarnation 0 is allowed')
  // cbor-x decodes an integral float as a number: accepted, and re-encoded as the shortest integer.
  // That is also how cbor-x itself writes integers of 2^32 and above.
  const float = Buffer.from('8504616b' + 'fb3ff0000000000000' + '01' + '6161', 'hex') // [4, "k", 1.0, 1, "a"]
  t.equal(reason(float), 'ok', 'incarnation as float64 1.0')
  t.equal(decodeFrame(float).incarnation, 1)
  t.equal(reason(Buffer.from('8504616b' + 'f93c00' + '01' + '6161', 'hex')), 'ok', 'incarnation as float16 1.0')
  for (const type of [0, 9, 255, -1, 1.5, '1', null]) t.equal(reason(withField(frame, 0, type)), 'unknown-type', `type ${String(type)}`)
})

t.test('every field of every type, with a wrong value', async (t) => {
  const table: Array<[MessageType, number, unknown[], string]> = [
    [MessageType.Heartbeat, 4, [-1, 0.5, 'x', null], 'malformed-number'],
    [MessageType.Heartbeat, 5, [new Uint8Array(7), new Uint8Array(9), 'x'.repeat(8), null, [0, 0, 0, 0, 0, 0, 0, 0]], 'malformed-bytes'],
    [MessageType.Heartbeat, 6, [new Uint8Array(31), new Uint8Array(33), 'k', false, undefined], 'malformed-bytes'],
    [MessageType.Heartbeat, 7, [new Uint8Array(31), new Uint8Array(33), 'k', false, undefined], 'malformed-bytes'],
    [MessageType.Heartbeat, 8, [-1, 0.5, 'x', null], 'malformed-number'],
    [MessageType.Heartbeat, 9, [new Uint8Array(2 + 3 * 64), null, 'x', [1]], 'malformed-bytes'],
    [MessageType.Heartbeat, 8, [7, 8, 2 ** 40], 'malformed-frame'],
    [MessageType.Heartbeat, 9, [Uint8Array.of(2), Uint8Array.of(1, 0), Uint8Array.of(0, 1, 2, 3, 4)], 'malformed-report'],
    [MessageType.Data, 4, [-1, 2.5, '9', null], 'malformed-number'],
    [MessageType.Data, 5, [-1, 0.5, '0'], 'malformed-number'],
    [MessageType.Data, 6, [-1, 1.5, '1'], 'malformed-number'],
    [MessageType.Data, 7, ['chunk', null, [1, 2], new Uint8Array(65536)], 'malformed-bytes'],
    [MessageType.Nack, 4, ['', 'x'.repeat(65), 3, null], 'malformed-target'],
    [MessageType.Nack, 5, [-1, 0.5, 'x', null], 'malformed-number'],
    [MessageType.Nack, 6, [[], [1], [1, 2, 3], 'x', null, Array.from({ length: 130 }, () => 1), { 1: 2 }], 'malformed-nack'],
    [MessageType.Nack, 6, [['1', 2], [1, -2], [1.5, 2], [1, null]], 'malformed-number'],
    [MessageType.Nack, 6, [[0, 1], [5, 4], [1, 1, 3, 2]], 'malformed-nack'],
    [MessageType.Nack, 7, [0, 1, 'true', null], 'malformed-nack'],
    [MessageType.Ping, 4, ['', 'x'.repeat(65), 1, null], 'malformed-target'],
    [MessageType.Message, 4, ['', 'x'.repeat(65), 1, null], 'malformed-to'],
    [MessageType.Message, 5, [-1, 0.5, '1', null], 'malformed-number'],
    [MessageType.Ack, 4, ['', 'x'.repeat(65), 1, null], 'malformed-to'],
    [MessageType.Ack, 5, [-1, 0.5, '1', null], 'malformed-number'],
    [MessageType.Peers, 4, ['10.0.0.2:1', null, [1], ['host:1'], ['10.0.0.2'], ['::1:5'], Array.from({ length: 65 }, () => '10.0.0.2:1')], 'malformed-peers'],
  ]
  for (const [type, field, values, expected] of table) {
    for (const value of values) {
      t.equal(reason(withField(sample(type), field, value)), expected, `type ${type} field ${field} = ${JSON.stringify(value) ?? String(value)}`)
    }
  }
  for (const data of [undefined, -1, 0.5, 'x', new Uint8Array(3), [{}]]) t.equal(reason(withField(sample(MessageType.Message), 6, data)), 'ok', 'message data is any value')
})

t.test('fragments, lengths and ranges', async (t) => {
  const data = (seq: number, index: number, count: number): Uint8Array =>
    encodeFrame({ type: MessageType.Data, ...head, seq, index, count, chunk: new Uint8Array(1) })
  t.equal(reason(data(5, 2, 2)), 'malformed-fragment', 'index = count')
  t.equal(reason(data(5, 3, 2)), 'malformed-fragment', 'index > count')
  t.equal(reason(data(5, 0, 0)), 'malformed-fragment', 'count 0')
  t.equal(reason(encodeFrame({ type: MessageType.Data, ...head, seq: 9, index: 1, count: 4, chunk: new Uint8Array(0) })), 'malformed-fragment', 'an empty fragment of a body')
  t.equal(reason(encodeFrame({ type: MessageType.Data, ...head, seq: 9, index: 1, count: 65536, chunk: Uint8Array.of(1) })), 'malformed-fragment', 'more than 65535 fragments')
  t.equal(reason(data(3, 3, 5)), 'malformed-fragment', 'base sequence seq - index would be 0')
  t.equal(reason(data(0, 0, 1)), 'malformed-fragment', 'sequence numbers start at 1')
  t.equal(reason(data(4, 3, 5)), 'ok', 'base sequence 1')
  for (const frame of samples) {
    const fields = cbor.decode(encodeFrame(frame)) as unknown[]
    t.equal(reason(raw([...fields, 0])), 'malformed-frame', `type ${frame.type} with one field too many`)
    if (fields.length > 4) t.equal(reason(raw(fields.slice(0, -1))), 'malformed-frame', `type ${frame.type} with one field too few`)
  }
  const nack = sample(MessageType.Nack)
  t.equal(reason(withField(nack, 6, Array.from({ length: 128 }, (_, i) => i + 1))), 'ok', '64 ranges are allowed')
  t.equal(reason(withField(nack, 6, Array.from({ length: 130 }, (_, i) => i + 1))), 'malformed-nack', '65 ranges are not')
  t.equal(reason(withField(nack, 6, [1, 2, 3])), 'malformed-nack', 'odd number of range bounds')
})

// Known src bug (reported, not fixed here): the address pattern accepts port 0, ports above
// 65535 and octets above 255; dgram's send() throws synchronously on such a port, inside a
// Promise executor in UdpTransport.send, and DSNode.pump leaves that rejection unhandled.
t.test('peer addresses out of range are refused', async (t) => {
  for (const bad of ['10.0.0.2:0', '10.0.0.2:99999', '300.1.1.1:5000']) {
    t.equal(reason(withField(sample(MessageType.Peers), 4, [bad])), 'malformed-peers', bad)
  }
})
