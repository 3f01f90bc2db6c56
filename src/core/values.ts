import { DsnError } from '../errors'
import { cbor } from '../wire/frame'

/** The CBOR encoding of `undefined`: marks a deleted key in a body. */
export const TOMBSTONE = Uint8Array.of(0xf7)

export interface EncodedValue {
  /** What readers get: decoded from `bytes`, so every node reads exactly the same value. */
  value: unknown
  bytes: Uint8Array
}

export function encodeValue(value: unknown, maxValueBytes: number): EncodedValue {
  if (value === undefined) throw new DsnError('DSN_BAD_VALUE', 'value is undefined: use delete(key) to remove a key')
  let bytes: Uint8Array
  let decoded: unknown
  try {
    // Encode what a reader will decode, so origin and replicas hash identical bytes.
    decoded = cbor.decode(cbor.encode(value))
    bytes = cbor.encode(decoded)
  } catch (err) {
    throw new DsnError('DSN_BAD_VALUE', `value cannot be encoded as CBOR: ${(err as Error).message}`)
  }
  if (bytes.length > maxValueBytes) {
    throw new DsnError('DSN_VALUE_TOO_LARGE', `value is ${bytes.length} bytes encoded; maxValueBytes is ${maxValueBytes}`)
  }
  return { value: freeze(decoded), bytes }
}

export function checkKey(key: unknown, maxKeyBytes: number): string {
  if (typeof key !== 'string' || key.length === 0) throw new DsnError('DSN_BAD_KEY', `key must be a non-empty string (got ${typeof key})`)
  const length = Buffer.byteLength(key)
  if (length > maxKeyBytes) throw new DsnError('DSN_BAD_KEY', `key is ${length} bytes; maxKeyBytes is ${maxKeyBytes}`)
  return key
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
