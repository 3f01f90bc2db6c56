import { BodyKind } from '../wire/constants'
import { cbor } from '../wire/frame'
import { keyProblem, toPlainValue } from '../wire/plain-value'

/**
 * A body is the CBOR array [kind, key1, value1, key2, value2, ...], a deleted key having the
 * value `undefined`. It is assembled from already-encoded values, so a value is encoded once.
 */
export interface BodyEntry {
  key: string
  /** Encoded value, or TOMBSTONE. */
  bytes: Uint8Array
}

export function entrySize(entry: BodyEntry): number {
  return Buffer.byteLength(entry.key) + 3 + entry.bytes.length
}

export function encodeBody(kind: BodyKind, entries: readonly BodyEntry[]): Uint8Array {
  const parts: Uint8Array[] = [arrayHeader(1 + entries.length * 2), Uint8Array.of(kind)]
  for (const e of entries) parts.push(cbor.encode(e.key), e.bytes)
  return Buffer.concat(parts)
}

export interface DecodedBody {
  kind: BodyKind
  /** [key, value] with value undefined for a deleted key. */
  entries: Array<[string, unknown]>
  /**
   * Entries refused by the shared validation (src/wire/plain-value.ts): counted, and when
   * key and value are sound but over our limits (`value` set), still hashed into the digest
   * so it compares what both ends saw rather than looping on snapshot requests.
   */
  refused: Array<{ key: string; value: unknown; problem: string } | { key: undefined; problem: string }>
}

/**
 * Returns undefined only for a body that is not well formed as a whole; an entry that is not
 * plain data or whose key is not valid is refused alone, so one entry never costs the rest.
 */
export function decodeBody(bytes: Uint8Array, maxKeyBytes: number): DecodedBody | undefined {
  let raw: unknown
  try {
    raw = cbor.decode(bytes)
  } catch {
    return undefined
  }
  if (!Array.isArray(raw) || raw.length % 2 !== 1) return undefined
  const kind = raw[0]
  if (kind !== BodyKind.Delta && kind !== BodyKind.Snapshot) return undefined
  const entries: Array<[string, unknown]> = []
  const refused: DecodedBody['refused'] = []
  // A value can never expand beyond a few times the body that carried it.
  const budget = 4 * bytes.length + 1024
  for (let i = 1; i < raw.length; i += 2) {
    const key: unknown = raw[i]
    const value = toPlainValue(raw[i + 1], budget)
    if (!value.ok) {
      refused.push({ key: undefined, problem: value.problem })
      continue
    }
    const problem = keyProblem(key, maxKeyBytes)
    if (problem !== undefined) {
      // A sound key that is only too long for us is still hashed (see `refused`).
      const sound = typeof key === 'string' && keyProblem(key, Infinity) === undefined && key.length <= MAX_HASHED_KEY_CHARS
      refused.push(sound ? { key, value: value.value, problem } : { key: undefined, problem })
      continue
    }
    entries.push([key as string, value.value])
  }
  return { kind, entries, refused }
}

/** Keys longer than this are not remembered even as a hash: the digest then differs (backed off). */
const MAX_HASHED_KEY_CHARS = 1024

function arrayHeader(length: number): Uint8Array {
  if (length < 24) return Uint8Array.of(0x80 | length)
  if (length < 0x100) return Uint8Array.of(0x98, length)
  if (length < 0x10000) return Uint8Array.of(0x99, length >> 8, length & 0xff)
  return Uint8Array.of(0x9a, (length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff)
}
