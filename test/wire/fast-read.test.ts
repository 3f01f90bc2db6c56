// The fast path for common CBOR shapes (src/wire/fast-read.ts) against cbor-x, the decoder of
// record: for any bytes it must give NOT_FAST or exactly what cbor-x gives, and NOT_FAST
// wherever cbor-x throws. Every head form, every shape it takes and several it must leave,
// real frames and bodies, then seeded random bytes and mutations of all of those.
import t from 'tap'
import { encodeBody } from '../../src/core/body'
import { BodyKind, MessageType } from '../../src/wire/constants'
import { fastRead, NOT_FAST } from '../../src/wire/fast-read'
import { cbor, decodeItem, encodeFrame, type Frame } from '../../src/wire/frame'

/** Same value as cbor-x's: Object.is for scalars (so -0 and NaN count), views of the same bytes. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array)) return false
    return a.constructor === b.constructor && a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.length === b.length
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false
    return a.every((v, i) => sameValue(v, b[i]))
  }
  return Object.is(a, b)
}

type Outcome = 'fast' | 'left' | 'refused'
/** Checks one input against cbor-x; says whether the fast path took it. */
function check(bytes: Uint8Array): { ok: boolean; outcome: Outcome; detail: string } {
  const fast = fastRead(bytes)
  let reference: unknown
  try {
    reference = cbor.decode(bytes)
  } catch (err) {
    return { ok: fast === NOT_FAST, outcome: 'refused', detail: `cbor-x threw ${(err as Error).message}, fast path gave ${String(fast)}` }
  }
  if (fast === NOT_FAST) return { ok: true, outcome: 'left', detail: '' }
  return { ok: sameValue(fast, reference), outcome: 'fast', detail: `fast ${String(fast)} against cbor-x ${String(reference)}` }
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s/g, ''), 'hex'))

t.test('every integer head form, floats, simple values and strings read as cbor-x reads them', async (t) => {
  const numbers = [0, 1, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, -1, -24, -25, -256, -257, -65536, -65537, -(2 ** 32), 0.5, -0.0, 1e300, -1e-300, NaN, Infinity, -Infinity, 2 ** 53, 2 ** 32, Math.fround(1.1)]
  const values: unknown[] = [...numbers, true, false, null, undefined, '', 'a', 'lat', 'x'.repeat(64), 'temperature.kitchen', Uint8Array.of(), Uint8Array.of(1, 2, 3), new Uint8Array(300)]
  for (const v of values) {
    const bytes = cbor.encode(v)
    const r = check(bytes)
    t.ok(r.ok, `${String(v)} (${hex(bytes)}): ${r.detail}`)
    t.equal(r.outcome, 'fast', `${String(v)} is a shape the fast path takes`)
  }
  // Heads cbor-x's encoder does not write but reads: non-shortest integers and lengths, float32.
  for (const text of ['1800', '1817', '190000', '19ffff', '1a00000000', '1affffffff', '3a7fffffff', '3affffffff', 'fa3fc00000', 'fa7f800000', 'faff800000', 'fa7fc00000', 'fa80000000', '5800', '780161', '8100', '9900020102', '9a000000020102']) {
    const r = check(fromHex(text))
    t.ok(r.ok, `${text}: ${r.detail}`)
    t.equal(r.outcome, 'fast', `${text} is taken`)
  }
})

t.test('what the fast path leaves to cbor-x: maps, tags, half floats, 8-byte heads, UTF-8, long text, deep arrays', async (t) => {
  const left = [new Map([['a', 1]]), { a: 1 }, new Date(0), 2n ** 63n, 10n ** 20n, 'ö', 'é'.repeat(3), 'x'.repeat(65), [[[[1]]]], [1, { a: 2 }]]
  for (const v of left) {
    const bytes = cbor.encode(v)
    const r = check(bytes)
    t.ok(r.ok, `${hex(bytes)}: ${r.detail}`)
    t.equal(r.outcome, 'left', `${hex(bytes)} is left to cbor-x`)
    t.ok(sameValue(decodeItem(bytes), cbor.decode(bytes)) || typeof v === 'object', 'decodeItem gives cbor-x\'s value')
  }
  for (const text of ['f93c00', '1b0000000000000001', '3b0000000000000001', '9fff', 'bf', 'c11a00000000', 'f0', 'f8ff', 'ff', '5f41ff', '7f61ff']) {
    const r = check(fromHex(text))
    t.ok(r.ok, `${text}: ${r.detail}`)
    t.not(r.outcome, 'fast', `${text} is not taken`)
  }
})

t.test('truncated, trailing and overlong input is never taken', async (t) => {
  for (const text of ['', '18', '19ff', '1a0000', 'fa0000', 'fb00000000000000', '4201', '6261', '82', '8201', '0000', '8000', '830102', '5affffffff00']) {
    const r = check(fromHex(text))
    t.ok(r.ok, `${text || '(empty)'}: ${r.detail}`)
    t.not(r.outcome, 'fast', `${text || '(empty)'} is not taken`)
  }
})

const head = { origin: 'kitchen', incarnation: 1754000000, packet: 7 }
const frames: Frame[] = [
  { type: MessageType.Heartbeat, ...head, seq: 12, digest: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), publicKey: new Uint8Array(32).fill(9), dhKey: null, unicastOnly: 6, report: Uint8Array.of(1, 0xab, 0xcd, 255) },
  { type: MessageType.Data, ...head, seq: 1, index: 0, count: 1, chunk: encodeBody(BodyKind.Delta, [{ key: 'lat', bytes: cbor.encode(21.5) }, { key: 'gone', bytes: undefined }]) },
  { type: MessageType.Nack, ...head, target: 'hall', targetIncarnation: 5, ranges: [[3, 4], [7, 7]], wantSnapshot: true },
  { type: MessageType.Message, ...head, to: 'hall', messageId: 1, data: ['a', 1, null] },
  { type: MessageType.Peers, ...head, addresses: ['10.0.0.2:47474'] },
]

t.test('real frames and bodies are taken, and read as cbor-x reads them', async (t) => {
  for (const frame of frames) {
    const bytes = encodeFrame(frame)
    const r = check(bytes)
    t.ok(r.ok, `type ${frame.type}: ${r.detail}`)
    t.equal(r.outcome, 'fast', `type ${frame.type} is taken`)
  }
  const body = encodeBody(BodyKind.Snapshot, [{ key: 'a', bytes: cbor.encode('0000000000000123') }, { key: 'b', bytes: cbor.encode(-7) }])
  t.equal(check(body).outcome, 'fast')
  t.ok(check(body).ok)
})

t.test('a recurring string is the same string, and a colliding one is not mistaken for it', async (t) => {
  const first = fastRead(cbor.encode('kitchen'))
  t.equal(fastRead(cbor.encode('kitchen')), first)
  // Strings of one length that share a slot or not: each reads as itself, whatever was cached.
  const words = Array.from({ length: 2000 }, (_, i) => `k${i.toString(36).padStart(4, '0')}`)
  for (let round = 0; round < 2; round++) for (const w of words) if (fastRead(cbor.encode(w)) !== w) t.fail(`read ${w} wrongly`)
  t.pass('2,000 keys of one length read back twice')
})

t.test('seeded random bytes and mutations of real encodings: NOT_FAST or exactly cbor-x', async (t) => {
  let seed = 20261207
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  const bases = [...frames.map(encodeFrame), cbor.encode([1, 'two', Uint8Array.of(3), [4.5, -6, null]]), cbor.encode('ascii text')]
  let failures = 0
  const counts: Record<Outcome, number> = { fast: 0, left: 0, refused: 0 }
  const run = (bytes: Uint8Array): void => {
    const r = check(bytes)
    counts[r.outcome]++
    if (!r.ok && failures++ < 5) t.fail(`${hex(bytes)}: ${r.detail}`)
  }
  for (let i = 0; i < 20_000; i++) {
    const base = bases[i % bases.length]
    const bytes = new Uint8Array(base)
    const edits = 1 + Math.floor(random() * 3)
    for (let e = 0; e < edits; e++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256)
    run(random() < 0.2 ? bytes.subarray(0, Math.floor(random() * bytes.length)) : bytes)
  }
  for (let i = 0; i < 20_000; i++) run(Uint8Array.from({ length: 1 + Math.floor(random() * 24) }, () => Math.floor(random() * 256)))
  t.equal(failures, 0, 'no input read differently from cbor-x')
  // The fuzz reached all three outcomes, so it tested something.
  t.ok(counts.fast > 1000 && counts.left > 1000 && counts.refused > 1000, `outcomes ${JSON.stringify(counts)}`)
})
