import t from 'tap'
import { columns, formatValue, jsonLine, parseCliValue } from '../../src/cli/values'
import { fromJson, toJson } from '../../src/daemon/json-values'

t.test('values parse as JSON when they are JSON, else as strings', async (t) => {
  t.equal(parseCliValue('21.5'), 21.5)
  t.equal(parseCliValue('-3'), -3)
  t.equal(parseCliValue('true'), true)
  t.equal(parseCliValue('null'), null)
  t.same(parseCliValue('{"a":1,"b":[1,"x"]}'), { a: 1, b: [1, 'x'] })
  t.equal(parseCliValue('"21.5"'), '21.5', 'quoted JSON is a string')
  t.equal(parseCliValue('hello world'), 'hello world')
  t.equal(parseCliValue('007'), '007', 'not JSON: leading zero')
  t.equal(parseCliValue(''), '')
  t.equal(parseCliValue('{broken'), '{broken')
  t.equal(parseCliValue('12345678901234567890'), '12345678901234567890', 'an integer beyond 2^53 stays text')
  t.equal(parseCliValue('1e400'), '1e400', 'Infinity stays text')
  t.equal(parseCliValue('21.5', true), '21.5', '--string')
})

t.test('bytes travel as {"$bytes": base64}', async (t) => {
  const bytes = parseCliValue('{"$bytes":"AAEC/w=="}')
  t.ok(bytes instanceof Uint8Array)
  t.same([...(bytes as Uint8Array)], [0, 1, 2, 255])
  t.same(toJson(new Uint8Array([0, 1, 2, 255])), { $bytes: 'AAEC/w==' })
  t.same(toJson(Buffer.from('hi')), { $bytes: 'aGk=' })
  t.same(toJson({ nested: [new Uint8Array([7])] }), { nested: [{ $bytes: 'Bw==' }] })
  t.throws(() => fromJson({ $bytes: 'not base64!' }), { code: 'DSN_BAD_VALUE', message: /\$bytes must be a base64 string/ })
  t.throws(() => fromJson({ $bytes: 5 }), { code: 'DSN_BAD_VALUE' })
  t.same(fromJson({ $bytes: 'AA==', other: 1 }), { $bytes: 'AA==', other: 1 }, 'only a lone $bytes field is bytes')
})

t.test('CBOR types without a JSON twin', async (t) => {
  t.same(toJson(new Map<unknown, unknown>([['a', 1], [2, 'b']])), { a: 1, '2': 'b' })
  t.same(toJson(new Set([1, 2])), [1, 2])
  t.equal(toJson(10n), 10)
  t.equal(toJson(2n ** 64n), '18446744073709551616')
  t.equal(toJson(NaN), null)
  t.equal(toJson(new Date(0)), '1970-01-01T00:00:00.000Z')
  t.same(toJson(new Float32Array([0.5, 2])), [0.5, 2])
  t.same(toJson({ a: undefined, b: 1 }), { b: 1 })
  t.same(toJson([undefined]), [null])
  t.equal(toJson(undefined), undefined)
})

t.test('output formats', async (t) => {
  t.equal(formatValue('bare string'), 'bare string')
  t.equal(formatValue(21.5), '21.5')
  t.equal(formatValue({ a: 1 }), '{"a":1}')
  t.equal(formatValue(undefined), '')
  t.equal(columns([['a', 'xx', 'end'], ['long', 'y', 'z']]), 'a     xx  end\nlong  y   z\n')
  t.equal(columns([]), '')
})

t.test('__proto__ survives the CLI both ways (issue 14)', async (t) => {
  const parsed = parseCliValue('{"__proto__":{"x":1}}') as Record<string, unknown>
  t.same(Object.keys(parsed), ['__proto__'], 'dsn set KEY \'{"__proto__":...}\' keeps the member')
  t.equal(Object.getPrototypeOf(parsed), Object.prototype)
  const state = JSON.parse('{"__proto__":{"__proto__":2}}') as Record<string, unknown>
  t.equal(jsonLine(state), '{"__proto__":{"__proto__":2}}\n', 'dsn get --json prints it')
})
