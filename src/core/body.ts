import { BodyKind } from '../wire/constants'
import { cbor } from '../wire/frame'
import { isPlainValue } from '../wire/plain-value'

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
}

/** Returns undefined for a body that is not well formed or holds a value that is not plain data. */
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
  for (let i = 1; i < raw.length; i += 2) {
    const key = raw[i]
    if (typeof key !== 'string' || key.length === 0 || Buffer.byteLength(key) > maxKeyBytes) return undefined
    // A value can never expand beyond a few times the body that carried it.
    if (!isPlainValue(raw[i + 1], 4 * bytes.length + 1024)) return undefined
    entries.push([key, raw[i + 1]])
  }
  return { kind, entries }
}

function arrayHeader(length: number): Uint8Array {
  if (length < 24) return Uint8Array.of(0x80 | length)
  if (length < 0x100) return Uint8Array.of(0x98, length)
  if (length < 0x10000) return Uint8Array.of(0x99, length >> 8, length & 0xff)
  return Uint8Array.of(0x9a, (length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff)
}
