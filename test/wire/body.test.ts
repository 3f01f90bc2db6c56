// Bodies (src/core/body.ts) and values (src/core/values.ts): [kind, key1, value1, ...] with each
// value a byte string of its encoding and deleted keys as CBOR undefined; values encoded once,
// canonically, by their origin, and hashed as those bytes on every node.
import t from 'tap'
import { decodeBody, encodeBody, type BodyEntry } from '../../src/core/body'
import { checkKey, decodeValue, encodeByRoundTrip, encodeValue } from '../../src/core/values'
import { DsnError } from '../../src/errors'
import { BodyKind } from '../../src/wire/constants'
import { Encoder } from 'cbor-x'
import { cborHead, MAJOR_ARRAY } from '../../src/wire/cbor-head'
import { cbor } from '../../src/wire/frame'
import { isWellFormed, isWellFormedByRegex } from '../../src/wire/plain-value'

const MAX_KEY = 128
const values: Array<[string, unknown]> = [
  ['zero', 0], ['small', 23], ['byte', 24], ['int', 65536], ['u32', 2 ** 32 - 1], ['above u32', 2 ** 32], ['safe', 2 ** 53 - 1],
  ['negative', -1], ['negative big', -(2 ** 40)], ['float', 21.5], ['tenth', 0.1], ['minus zero', -0], ['nan', NaN], ['inf', -Infinity],
  ['empty string', ''], ['string', 'kitchen'], ['unicode', 'Zürich ☃ 😀'], ['long string', 'x'.repeat(300)],
  ['bytes', Uint8Array.of(0, 1, 255)], ['empty bytes', new Uint8Array(0)], ['true', true], ['false', false], ['null', null],
  ['array', [1, 'two', 3.5, null]], ['empty array', []], ['map', { b: 1, a: 2, '10': 3, '2': 4 }], ['empty map', {}],
  ['nested', { sensors: [{ id: 'a', t: [21.5, 21.6] }, { id: 'b', raw: Uint8Array.of(9) }], meta: { ok: true, n: null } }],
  ['bigint', 10n], ['date', new Date(0)], ['Map', new Map<unknown, unknown>([['a', 1], [2, 'b']])], ['undefined inside', [undefined]],
]
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const entry = (key: string, value: unknown): BodyEntry => ({ key, bytes: encodeValue(value, 1 << 20).bytes })

t.test('values: what readers get is what a replica decodes', async (t) => {
  for (const [name, value] of values) {
    const { value: read, bytes } = encodeValue(value, 1 << 20)
    t.same(read, decodeValue(bytes), `${name}: value = decode(bytes)`)
    // Replicas hash `bytes` as sent; canonical bytes mean a value set again from what a reader
    // holds (a bridge, a copy to another key) has the same bytes and digest entry.
    t.equal(hex(cbor.encode(decodeValue(bytes))), hex(bytes), `${name}: canonical (re-encoding is a fixed point)`)
    // Typed arrays cannot be frozen in JS: byte values are the one thing a reader could mutate.
    if (typeof read === 'object' && read !== null && !ArrayBuffer.isView(read)) t.ok(Object.isFrozen(read), `${name}: frozen`)
  }
  const map = encodeValue({ b: 1, a: 2, '10': 3, '2': 4 }, 100)
  t.same(Object.keys(map.value as object), ['2', '10', 'b', 'a'], 'integer-like keys first (JS order), then insertion order')
  t.equal(hex(encodeValue(2 ** 32, 100).bytes), 'fb41f0000000000000', 'integers from 2^32 up are float64 (cbor-x)')
  t.equal(hex(encodeValue({ a: 1 }, 100).bytes), 'b900016161' + '01', 'maps have a 2-byte length (cbor-x)')
  const nested = encodeValue({ deep: { list: [{ x: 1 }] } }, 100).value as { deep: { list: Array<{ x: number }> } }
  t.ok(Object.isFrozen(nested.deep.list[0]), 'deeply frozen')
})

t.test('values: numbers, booleans, null and strings take a shorter path to the same bytes and value', async (t) => {
  // encodeValue skips the validation walks and the second encode for scalars; the full round
  // trip is the reference. Edges of every CBOR number form, then seeded random ones.
  const edges: unknown[] = [0, -0, 1, -1, 23, 24, 255, 256, 65535, 65536, 2 ** 31 - 1, -(2 ** 31), -(2 ** 31) - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 64,
    -(2 ** 63), 0.1, 0.5, 1.5, -2.75, 65504, 65505, 3.4028234663852886e38, 1e300, -1e-300, 5e-324, Number.MAX_VALUE, Number.EPSILON, NaN, Infinity, -Infinity,
    true, false, null, '', 'a', '0', 'NaN', 'Zürich ☃ 😀', '\u0000', '\uffff', '😀'.repeat(100), 'x'.repeat(70_000)]
  let seed = 7
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  for (let i = 0; i < 2000; i++) {
    edges.push((random() - 0.5) * 10 ** Math.floor(random() * 40 - 20), Math.floor((random() - 0.5) * 2 ** Math.floor(random() * 60)), Math.fround(random() * 1000))
  }
  let mismatches = 0
  for (const value of edges) {
    const fast = encodeValue(value, 1 << 20)
    const reference = encodeByRoundTrip(value)
    if (!Object.is(fast.value, reference.value) || hex(fast.bytes) !== hex(reference.bytes)) {
      mismatches++
      t.fail(`${String(value)}: ${String(fast.value)} ${hex(fast.bytes)} against ${String(reference.value)} ${hex(reference.bytes)}`)
    }
  }
  t.equal(mismatches, 0, `${edges.length} scalars: same value (Object.is) and bytes as the round trip`)
  t.throws(() => encodeValue('cut \ud83d', 100), /lone UTF-16 surrogate/, 'a lone surrogate still gets the round trip\'s refusal')
})

t.test('values: refusals with stable codes', async (t) => {
  const code = (fn: () => unknown): string | undefined => {
    try {
      fn()
    } catch (err) {
      return err instanceof DsnError ? err.code : `not a DsnError: ${String(err)}`
    }
    return undefined
  }
  t.equal(code(() => encodeValue(undefined, 100)), 'DSN_BAD_VALUE')
  t.equal(code(() => encodeValue(() => 1, 100)), 'DSN_BAD_VALUE')
  t.equal(code(() => encodeValue(Symbol('s'), 100)), 'DSN_BAD_VALUE')
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  t.equal(code(() => encodeValue(cyclic, 100)), 'DSN_BAD_VALUE')
  t.equal(code(() => encodeValue('x'.repeat(98), 100)), undefined, '98 characters are 100 bytes encoded: at the limit')
  t.equal(code(() => encodeValue('x'.repeat(99), 100)), 'DSN_VALUE_TOO_LARGE')
  t.throws(() => encodeValue('x'.repeat(200), 100), /value is 202 bytes encoded; maxValueBytes is 100/)
  t.throws(() => encodeValue('é'.repeat(100), 99), /value is 202 bytes encoded; maxValueBytes is 99/, 'UTF-8 bytes, counted without encoding')
  t.throws(() => encodeValue('x'.repeat(10_000_000), 65536), /value is 10000005 bytes encoded/)
  t.ok(cbor.encode('after').buffer.byteLength < 1 << 20, 'a string refused for its size never grew the shared encoder')
  t.equal(encodeValue('abc', 100).bytes.buffer.byteLength, 4, 'the bytes our state keeps are a copy, not a view of a shared block')
  t.equal(code(() => checkKey('', MAX_KEY)), 'DSN_BAD_KEY')
  t.equal(code(() => checkKey(7, MAX_KEY)), 'DSN_BAD_KEY')
  t.equal(code(() => checkKey('é'.repeat(65), MAX_KEY)), 'DSN_BAD_KEY', '130 UTF-8 bytes')
  t.equal(checkKey('é'.repeat(64), MAX_KEY), 'é'.repeat(64))
})

t.test('bodies round-trip, and are plain CBOR arrays', async (t) => {
  const entries = values.map(([key, value]) => entry(key, value))
  for (const kind of [BodyKind.Delta, BodyKind.Snapshot]) {
    const bytes = encodeBody(kind, entries)
    const decoded = decodeBody(bytes, MAX_KEY)
    t.equal(decoded?.kind, kind)
    t.same(decoded?.entries.map((e) => e.key), values.map(([k]) => k), 'keys in order')
    decoded?.entries.forEach((e, i) => {
      t.same(e.value, encodeValue(values[i][1], 1 << 20).value, e.key)
      t.equal(hex(e.bytes as Uint8Array), hex(entries[i].bytes as Uint8Array), `${e.key}: the origin's bytes, to hash as they are`)
    })
    const generic = decodeValue(bytes) as unknown[]
    t.equal(generic.length, 1 + 2 * entries.length, 'any CBOR library reads one flat array')
    t.equal(generic[0], kind)
    t.ok(generic.slice(1).every((item, i) => (i % 2 === 0 ? typeof item === 'string' : item instanceof Uint8Array)), 'keys are text, values byte strings')
  }
  const plain: Array<[string, unknown]> = [['a', 1], ['b', 'two'], ['c', [3]]]
  const wrapped = plain.flatMap(([k, v]) => [k, cbor.encode(v)])
  t.equal(hex(encodeBody(BodyKind.Delta, plain.map(([k, v]) => entry(k, v)))), hex(cbor.encode([0, ...wrapped])), 'same bytes as encoding the array whole')
})

t.test('array headers at every size class', async (t) => {
  for (const n of [0, 1, 11, 12, 127, 128, 40_000]) {
    const entries = Array.from({ length: n }, (_, i) => ({ key: `k${i}`, bytes: Uint8Array.of(i & 0x17) }))
    const bytes = encodeBody(BodyKind.Delta, entries)
    const items = 1 + 2 * n
    const expected = items < 24 ? [0x80 | items] : items < 256 ? [0x98, items] : items < 65536 ? [0x99, items >> 8, items & 0xff] : [0x9a, 0, items >> 16, (items >> 8) & 0xff, items & 0xff]
    t.same([...bytes.subarray(0, expected.length)], expected, `${n} entries: shortest head for ${items} items`)
    t.equal(decodeBody(bytes, MAX_KEY)?.entries.length, n)
  }
})

t.test('tombstones', async (t) => {
  const bytes = encodeBody(BodyKind.Delta, [entry('kept', 1), { key: 'gone', bytes: undefined }, entry('null is a value', null)])
  t.equal(hex(bytes), '8700646b657074' + '4101' + '64676f6e65' + 'f7' + '6f6e756c6c20697320612076616c7565' + '41f6', 'values as byte strings; a deleted key as CBOR undefined')
  t.same(decodeBody(bytes, MAX_KEY), {
    kind: BodyKind.Delta,
    entries: [{ key: 'kept', value: 1, bytes: Uint8Array.of(1) }, { key: 'gone', value: undefined, bytes: undefined }, { key: 'null is a value', value: null, bytes: Uint8Array.of(0xf6) }],
    refused: [],
  })
  t.same(decodeBody(encodeBody(BodyKind.Snapshot, []), MAX_KEY), { kind: BodyKind.Snapshot, entries: [], refused: [] }, 'an empty snapshot: the state is empty')
})

t.test('bad bodies return undefined', async (t) => {
  const bad: Array<[string, Uint8Array]> = [
    ['empty', new Uint8Array(0)],
    ['not CBOR', Uint8Array.of(0xff, 0x00)],
    ['truncated', encodeBody(BodyKind.Delta, [entry('a', 'value')]).subarray(0, 5)],
    ['trailing byte', Buffer.concat([encodeBody(BodyKind.Delta, [entry('a', 1)]), Uint8Array.of(0)])],
    ['not an array', cbor.encode({ kind: 0 })],
    ['empty array', cbor.encode([])],
    ['even length', cbor.encode([0, 'a'])],
    ['kind 2', cbor.encode([2, 'a', cbor.encode(1)])],
    ['kind as string', cbor.encode(['0', 'a', cbor.encode(1)])],
    ['kind as float', cbor.encode([0.5, 'a', cbor.encode(1)])],
    ['a frame, not a body', cbor.encode([5, 'a', 1, 1])],
  ]
  for (const [name, bytes] of bad) t.equal(decodeBody(bytes, MAX_KEY), undefined, name)
  t.same(decodeBody(cbor.encode([0, 'k'.repeat(MAX_KEY), cbor.encode(1)]), MAX_KEY)?.entries.length, 1, 'a key of exactly maxKeyBytes is fine')
  t.ok(decodeBody(cbor.encode([1]), MAX_KEY), 'a snapshot with no entries is fine')
})

t.test('a bad entry is refused alone: the rest of its body is kept', async (t) => {
  const one = cbor.encode(1)
  // [name, key, the value's place in the body, what the refusal says]
  const bad: Array<[string, unknown, unknown, RegExp]> = [
    ['number key', 1, one, /key must be a string/],
    ['bytes key', Uint8Array.of(97), one, /key must be a string/],
    ['empty key', '', one, /must not be empty/],
    ['key over maxKeyBytes', 'k'.repeat(MAX_KEY + 1), one, /maxKeyBytes/],
    ['key over maxKeyBytes in UTF-8', 'é'.repeat(MAX_KEY / 2 + 1), one, /maxKeyBytes/],
    ['value nested 65 deep', 'deep', cbor.encode(JSON.parse('['.repeat(66) + ']'.repeat(66))), /nested deeper/],
    ['a class instance (CBOR tag 27, Error)', 'err', cbor.encode(new Error('x')), /not plain data/],
    ['a value not wrapped in a byte string', 'raw', 1, /not a byte string/],
    ['a value as text', 'text', 'one', /not a byte string/],
    ['value bytes with a trailing byte', 'trail', Uint8Array.of(0x01, 0x00), /not one well-formed CBOR item/],
    ['value bytes cut short', 'cut', Uint8Array.of(0x82, 0x01), /not one well-formed CBOR item/],
    ['empty value bytes', 'empty', new Uint8Array(0), /not one well-formed CBOR item/],
    ['value bytes holding undefined', 'undef', Uint8Array.of(0xf7), /deleted key is sent as undefined/],
  ]
  for (const [name, key, value, problem] of bad) {
    const body = decodeBody(cbor.encode([0, 'before', one, key, value, 'after', cbor.encode(2)]), MAX_KEY)
    t.same(body?.entries.map((e) => [e.key, e.value]), [['before', 1], ['after', 2]], `${name}: the other entries are kept`)
    t.equal(body?.refused.length, 1, `${name}: one entry refused`)
    t.match(body?.refused[0]?.problem, problem, `${name}: the refusal says why`)
  }
  const long = decodeBody(cbor.encode([0, 'k'.repeat(MAX_KEY + 1), one]), MAX_KEY)?.refused[0]
  t.equal(long?.key, 'k'.repeat(MAX_KEY + 1), 'a sound key only too long for us is kept for the digest')
  t.same(long && 'bytes' in long && long.bytes ? [...long.bytes] : undefined, [1], 'with the bytes to hash')
})

// cbor-x decodes CBOR shared references (tags 28/29), so 6 bytes make a cyclic value, and a DAG
// of them expands ~171 bytes into megabytes: the shared validation refuses both.
t.test('bodies with shared-reference tags are refused', async (t) => {
  const body = decodeBody(Buffer.from('8300616b46d81c81d81d00', 'hex'), MAX_KEY)
  t.same(body?.entries, [], '[0, "k", bytes(<array containing itself>)]: not kept')
  t.match(body?.refused[0]?.problem, /cycle/, 'refused as a cycle')
})

t.test('well-formed Unicode: the built-in check and the regex (Node 18) give one answer', async (t) => {
  const cases = ['', 'a', 'Zürich', '😀', '😀'.slice(0, 1), '😀'.slice(1), 'a\ud83d', '\ude00a', '\ude00\ud83d', '\ud83d\ude00\ud83d', 'x'.repeat(1000) + '\udfff']
  let seed = 11
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  // Random UTF-16 strings weighted toward the surrogate range, where the answers could differ.
  for (let i = 0; i < 3000; i++) {
    const units = Array.from({ length: 1 + Math.floor(random() * 6) }, () => (random() < 0.6 ? 0xd800 + Math.floor(random() * 0x800) : Math.floor(random() * 0x10000)))
    cases.push(String.fromCharCode(...units))
  }
  const differ = cases.filter((text) => isWellFormed(text) !== isWellFormedByRegex(text))
  t.same(differ, [], `${cases.length} strings`)
  t.equal(isWellFormed('😀'.slice(0, 1)), false, 'a cut emoji is not well formed')
  t.equal(isWellFormed('😀'), true)
})

const sharingEncoder = new Encoder({ structuredClone: true, tagUint8Array: false } as ConstructorParameters<typeof Encoder>[0])

t.test('a value counts against the limits by its bytes: it may not decode to much more', async (t) => {
  // 12 levels of [x, x] with shared references (tags 28/29): 4,095 arrays and 4,096 strings
  // from ~91 bytes, ~24,600 units.
  let dag: unknown = 'leaf'
  for (let i = 0; i < 12; i++) dag = [dag, dag]
  const sharing = sharingEncoder.encode(dag)
  t.ok(sharing.length < 120, `the DAG is ${sharing.length} bytes`)
  // An 8 KiB neighbour: a budget from the whole body's size (protocol 5's) would let the DAG in.
  const body = decodeBody(cbor.encode([0, 'padding', cbor.encode('p'.repeat(8192)), 'dag', sharing]), MAX_KEY)
  t.same(body?.entries.map((e) => e.key), ['padding'], 'the DAG is refused, the entry beside it kept')
  t.match(body?.refused[0]?.problem, /expands beyond/)
  // Honest values stay inside the budget, a Map's number keys (which grow as member names) too.
  const grows = new Map<unknown, unknown>(Array.from({ length: 50 }, (_, i) => [-1.2345678901234567e-300 * (i + 1), 4294967295 + i]))
  const encoded = cbor.encode(grows)
  t.same([...encoded.subarray(0, 3)], [0xb8, 50, 0xfb], 'a map of 50 whose keys go out as float64, 9 bytes each')
  const honest = decodeBody(cbor.encode([0, 'grows', encoded]), MAX_KEY)
  t.same(honest?.refused, [], 'number map keys of 9 bytes, ~24 characters each as member names')
})

t.test('one byte string shared by many entries refuses the body', async (t) => {
  const value = cbor.encode('x'.repeat(200))
  const items: unknown[] = [0]
  for (let i = 0; i < 1000; i++) items.push(`k${i}`, value) // the same object: tag 28 once, then tag 29
  const bytes = sharingEncoder.encode(items)
  t.ok(bytes.length < 12_000, `1,000 entries of 203 value bytes each (203,000) in a ${bytes.length}-byte body`)
  t.equal((cbor.decode(bytes) as unknown[]).length, 2001, 'a well-formed array of 1,000 entries')
  t.equal(decodeBody(bytes, MAX_KEY), undefined, 'the values add up to more than the body: not well formed')
  // The same with one long key shared by deletes, which add no value bytes.
  // cbor-x shares only objects when encoding, so by hand: 28(key) once, then 29(0) for each repeat.
  const parts = [cborHead(MAJOR_ARRAY, 2001), Uint8Array.of(0), Uint8Array.of(0xd8, 28), cbor.encode('k'.repeat(4000)), Uint8Array.of(0xf7)]
  for (let i = 1; i < 1000; i++) parts.push(Uint8Array.of(0xd8, 29, 0x00, 0xf7))
  const keyed = Buffer.concat(parts)
  const decoded = cbor.decode(keyed) as unknown[]
  t.ok(decoded.length === 2001 && decoded[1999] === 'k'.repeat(4000), `1,000 deletes of one 4,000-character key in a ${keyed.length}-byte body`)
  t.equal(decodeBody(keyed, MAX_KEY), undefined, 'the keys add up to more than the body: not well formed')
  const honest = encodeBody(BodyKind.Delta, Array.from({ length: 1000 }, (_, i) => ({ key: `k${i}`, bytes: value })))
  t.equal(decodeBody(honest, MAX_KEY)?.entries.length, 1000, 'the same entries written out are fine')
})

t.test('held bytes are copies, and deletes of keys too long for us are kept for the digest', async (t) => {
  const bytes = encodeBody(BodyKind.Delta, [entry('k', 'value')])
  const got = decodeBody(bytes, MAX_KEY)?.entries[0]?.bytes
  t.ok(got && got.buffer !== bytes.buffer, 'a held value does not pin the datagram it came in')
  t.equal(got?.constructor, Uint8Array, 'a plain Uint8Array')
  const long = 'k'.repeat(MAX_KEY + 1)
  t.same(decodeBody(encodeBody(BodyKind.Delta, [{ key: long, bytes: undefined }]), MAX_KEY)?.refused, [{ key: long, value: undefined, bytes: undefined, problem: `key is ${MAX_KEY + 1} bytes (UTF-8); maxKeyBytes is ${MAX_KEY}` }], 'the delete of a key only too long for us reaches the replica')
})
