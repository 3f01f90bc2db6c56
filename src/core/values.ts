import { DsnError } from '../errors'
import { cborHead, MAJOR_TEXT } from '../wire/cbor-head'
import { cbor, decodeItem } from '../wire/frame'
import { encodeScalarItem } from '../wire/fast-write'
import { decodedBudget, isWellFormed, keyProblem, toPlainValue, type PlainResult } from '../wire/plain-value'

export interface EncodedValue {
  /** What readers get: decoded from `bytes`, so every node reads exactly the same value. */
  value: unknown
  bytes: Uint8Array
}

export function encodeValue(value: unknown, maxValueBytes: number): EncodedValue {
  if (value === undefined) throw new DsnError('DSN_BAD_VALUE', 'value is undefined: use delete(key) to remove a key')
  // Before encoding: cbor-x's module-wide buffer, grown for a huge string, stays that size.
  if (typeof value === 'string' && value.length > maxValueBytes) {
    const length = Buffer.byteLength(value)
    throw new DsnError('DSN_VALUE_TOO_LARGE', `value is ${cborHead(MAJOR_TEXT, length).length + length} bytes encoded; maxValueBytes is ${maxValueBytes}`)
  }
  const scalar = isScalar(value)
  const encoded = scalar ? encodeScalar(value) : encodeByRoundTrip(value)
  if (encoded.bytes.length > maxValueBytes) {
    throw new DsnError('DSN_VALUE_TOO_LARGE', `value is ${encoded.bytes.length} bytes encoded; maxValueBytes is ${maxValueBytes}`)
  }
  // Our state keeps these bytes: a copy, not a view pinning a block of cbor-x's buffer (a
  // scalar's are already an array of their own).
  return scalar ? encoded : { value: encoded.value, bytes: new Uint8Array(encoded.bytes) }
}

/** null, a boolean, a number or a well-formed string: most sensor values. */
function isScalar(value: unknown): value is null | boolean | number | string {
  const type = typeof value
  return value === null || type === 'number' || type === 'boolean' || (type === 'string' && isWellFormed(value as string))
}

/**
 * A scalar needs no validation walk, and encoding what a reader decodes gives the bytes
 * encoded (test/wire/body.test.ts holds both to the round trip): one encode and one
 * decode instead of two of each and two walks, on every set() of a number or a string.
 * Where the encoding is exact (null, booleans, well-formed strings, 32-bit integers but -0)
 * the reader decodes the very value given, so not even the decode is needed: the writer
 * then never runs the decoder's code on a set().
 */
function encodeScalar(value: null | boolean | number | string): EncodedValue {
  // Written by hand, cbor-x's bytes exactly (wire/fast-write.ts), into an array of its own.
  const bytes = encodeScalarItem(value)
  return { value: encodedExactly(value) ? value : decodeItem(bytes), bytes }
}

/** CBOR carries these as they are: a major type 0/1 integer, a simple value or a text string. */
function encodedExactly(value: null | boolean | number | string): boolean {
  return typeof value !== 'number' || ((value | 0) === value && !Object.is(value, -0))
}

/**
 * Any value: checked as a receiver checks it, first on what the user gave (depth, cycles, lone
 * surrogates: cbor-x would overflow the stack or turn a surrogate into U+FFFD), then on what a
 * reader will decode, so origin and replicas hold and hash identical bytes. Exported for the
 * test that holds encodeScalar to it.
 */
export function encodeByRoundTrip(value: unknown): EncodedValue {
  const input = toPlainValue(value, Infinity)
  if (!input.ok) throw new DsnError('DSN_BAD_VALUE', input.problem)
  let bytes: Uint8Array
  let decoded: PlainResult
  try {
    const sent = cbor.encode(input.value)
    decoded = toPlainValue(cbor.decode(sent), decodedBudget(sent.length))
    if (!decoded.ok) throw new DsnError('DSN_BAD_VALUE', decoded.problem)
    bytes = cbor.encode(decoded.value)
  } catch (err) {
    if (err instanceof DsnError) throw err
    throw new DsnError('DSN_BAD_VALUE', `value cannot be encoded as CBOR: ${(err as Error).message}`)
  }
  return { value: freeze(decoded.value), bytes }
}

/** What every receiver makes of an encoded value: decode, then the shared validation. */
export function decodeValue(bytes: Uint8Array): unknown {
  const result = toPlainValue(cbor.decode(bytes), decodedBudget(bytes.length))
  if (!result.ok) throw new DsnError('DSN_BAD_VALUE', result.problem)
  return result.value
}

export function checkKey(key: unknown, maxKeyBytes: number): string {
  const problem = keyProblem(key, maxKeyBytes)
  if (problem !== undefined) throw new DsnError('DSN_BAD_KEY', problem)
  return key as string
}

/** Deep-freezes plain containers so a replica cannot be changed by a reader. */
export function freeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || Object.isFrozen(value)) return value
  for (const inner of Object.values(value as object)) freeze(inner)
  if (value instanceof Map) for (const inner of value.values()) freeze(inner)
  return Object.freeze(value)
}

/** A frozen plain record; defineProperty so a key named "__proto__" stays a key. */
export function frozenRecord(entries: Iterable<[string, { value: unknown }]>): Readonly<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  for (const [key, e] of entries) Object.defineProperty(out, key, { value: e.value, enumerable: true })
  return Object.freeze(out)
}
