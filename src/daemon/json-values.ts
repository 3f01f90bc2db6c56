import { DsnError } from '../errors'

/**
 * State values are CBOR on the mesh and JSON on the control socket and in `dsn` output.
 * JSON has no bytes, so bytes travel as {"$bytes":"<base64>"} in both directions. Other CBOR
 * types without a JSON twin are mapped one way only: Map -> object (keys as strings),
 * Set -> array, Date -> ISO string, bigint -> number when safe else a decimal string,
 * NaN and +-Infinity -> null (as JSON.stringify does), other typed arrays -> arrays of numbers.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

export const BYTES_TAG = '$bytes'

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/

/** A state value as JSON; undefined stays undefined (an absent value). */
export function toJson(value: unknown): JsonValue | undefined {
  if (value === undefined) return undefined
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value
  if (typeof value === 'number') return Number.isFinite(value) ? value : null
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString()
  }
  if (value instanceof Uint8Array) return { [BYTES_TAG]: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') }
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>, (n) => toJson(n) ?? null)
  if (Array.isArray(value)) return value.map((item) => toJson(item) ?? null)
  if (value instanceof Set) return [...value].map((item) => toJson(item) ?? null)
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()
  const entries: Iterable<[unknown, unknown]> = value instanceof Map ? value.entries() : Object.entries(value as object)
  const out: { [key: string]: JsonValue } = {}
  for (const [key, item] of entries) {
    const json = toJson(item)
    if (json !== undefined) setMember(out, String(key), json)
  }
  return out
}

/** Parsed JSON back to a state value: {"$bytes": base64} objects become Uint8Array. */
export function fromJson(value: JsonValue): unknown {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(fromJson)
  const keys = Object.keys(value)
  if (keys.length === 1 && keys[0] === BYTES_TAG) {
    const text = value[BYTES_TAG]
    if (typeof text !== 'string' || !BASE64.test(text)) {
      throw new DsnError('DSN_BAD_VALUE', `${BYTES_TAG} must be a base64 string (got ${JSON.stringify(text).slice(0, 40)})`)
    }
    return new Uint8Array(Buffer.from(text, 'base64'))
  }
  const out: Record<string, unknown> = {}
  for (const key of keys) setMember(out, key, fromJson(value[key]))
  return out
}

/** `out[key] = v` would set the prototype for "__proto__": a key like any other here. */
function setMember<T>(out: Record<string, T>, key: string, v: T): void {
  Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true })
}
