import { BodyKind } from '../wire/constants'
import { CBOR_UNDEFINED, headBytes, MAJOR_ARRAY, MAJOR_BYTES, MAJOR_TEXT, writeHead } from '../wire/cbor-head'
import { isShortAscii, utf8, writeAscii } from '../wire/fast-write'
import { decodeItem } from '../wire/frame'
import { decodedBudget, keyProblem, toPlainValue } from '../wire/plain-value'

/**
 * A body is the CBOR array [kind, key1, value1, key2, value2, ...] where each value is a byte
 * string holding the origin's encoded value (CDDL `bstr .cbor any`), or `undefined` for a
 * deleted key. A value is encoded once, by its origin: receivers hold, hash and count exactly
 * those bytes, so none of them ever re-encodes a value it received.
 */
export interface BodyEntry {
  key: string
  /** Encoded value; undefined: the key was deleted. */
  bytes: Uint8Array | undefined
}

/** An upper bound of what one entry adds to a body: the key and value with their heads. */
export function entrySize(entry: BodyEntry): number {
  return Buffer.byteLength(entry.key) + 3 + (entry.bytes ? entry.bytes.length + 5 : 1)
}

/**
 * Assembled around the values' bytes rather than by one cbor.encode of the whole: a snapshot
 * of the whole state would grow cbor-x's shared buffer to 4x its size for good, and every later
 * value, held in our state as a view of that buffer, would pin a block that size. Written in
 * one allocation by wire/fast-write.ts, byte for byte what cbor-x gives (test/wire/fast-write.test.ts).
 */
export function encodeBody(kind: BodyKind, entries: readonly BodyEntry[]): Uint8Array {
  // Short ASCII keys (nearly all) are written straight into the body; others go through UTF-8 bytes.
  const keys: Array<Uint8Array | null> = new Array<Uint8Array | null>(entries.length)
  let size = headBytes(1 + entries.length * 2) + 1
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]
    const key = (keys[i] = isShortAscii(e.key) ? null : utf8(e.key))
    const keyLength = key ? key.length : e.key.length
    size += headBytes(keyLength) + keyLength + (e.bytes ? headBytes(e.bytes.length) + e.bytes.length : 1)
  }
  const out = new Uint8Array(size)
  let at = writeHead(out, 0, MAJOR_ARRAY, 1 + entries.length * 2)
  out[at++] = kind
  for (let i = 0; i < entries.length; i++) {
    const key = keys[i]
    if (key) {
      at = writeHead(out, at, MAJOR_TEXT, key.length)
      out.set(key, at)
      at += key.length
    } else at = writeAscii(out, writeHead(out, at, MAJOR_TEXT, entries[i].key.length), entries[i].key)
    const bytes = entries[i].bytes
    if (bytes) {
      at = writeHead(out, at, MAJOR_BYTES, bytes.length)
      out.set(bytes, at)
      at += bytes.length
    } else out[at++] = CBOR_UNDEFINED
  }
  return out
}

/** One entry a receiver can hold: its decoded value and the origin's bytes for it. */
export interface DecodedEntry {
  key: string
  /** undefined for a deleted key. */
  value: unknown
  bytes: Uint8Array | undefined
}

export interface DecodedBody {
  kind: BodyKind
  entries: DecodedEntry[]
  /**
   * Entries refused by the shared validation (src/wire/plain-value.ts): counted, and when
   * key and value are sound but over our limits (`key` set), still hashed into the digest (or,
   * for a delete, their hash taken out) so it compares what both ends saw rather than looping
   * on snapshot requests.
   */
  refused: readonly RefusedEntry[]
}

export type RefusedEntry = { key: string; value: unknown; bytes: Uint8Array | undefined; problem: string } | { key: undefined; problem: string }

/** Nearly every body refuses nothing: one shared empty list instead of one per datagram. */
const NOTHING_REFUSED: readonly RefusedEntry[] = Object.freeze([])

/**
 * Returns undefined only for a body that is not well formed as a whole; an entry that is not
 * plain data or whose key is not valid is refused alone, so one entry never costs the rest.
 * Keys and values may not add up to more than the body: cbor-x decodes shared references
 * (tags 28/29), and one byte string or one long key shared by 500,000 entries would otherwise
 * be decoded, scanned or copied 500,000 times. (A key's UTF-16 length never exceeds its bytes.)
 */
export function decodeBody(bytes: Uint8Array, maxKeyBytes: number): DecodedBody | undefined {
  let raw: unknown
  try {
    raw = decodeItem(bytes)
  } catch {
    return undefined
  }
  if (!Array.isArray(raw) || raw.length % 2 !== 1) return undefined
  const kind = raw[0]
  if (kind !== BodyKind.Delta && kind !== BodyKind.Snapshot) return undefined
  const entries: DecodedEntry[] = []
  let refused: RefusedEntry[] | undefined
  let itemBytes = 0
  for (let i = 1; i < raw.length; i += 2) {
    const key: unknown = raw[i]
    const encoded: unknown = raw[i + 1]
    if (typeof key === 'string') itemBytes += key.length
    if (encoded instanceof Uint8Array) itemBytes += encoded.length
    if (itemBytes > bytes.length) return undefined
    const value = encoded === undefined ? DELETED : decodeEntryValue(encoded)
    if (!value.ok) {
      refused ??= []
      refused.push({ key: undefined, problem: value.problem })
      continue
    }
    const problem = keyProblem(key, maxKeyBytes)
    if (problem !== undefined) {
      // A sound key that is only too long for us is still hashed, or its hash removed (see `refused`).
      const sound = typeof key === 'string' && key.length <= MAX_HASHED_KEY_CHARS && keyProblem(key, Infinity) === undefined
      refused ??= []
      refused.push(sound ? { key, value: value.value, bytes: value.bytes, problem } : { key: undefined, problem })
      continue
    }
    entries.push({ key: key as string, value: value.value, bytes: value.bytes })
  }
  return { kind, entries, refused: refused ?? NOTHING_REFUSED }
}

const DELETED = { ok: true as const, value: undefined, bytes: undefined }

/** Keys longer than this are not remembered even as a hash: the digest then differs (backed off). */
const MAX_HASHED_KEY_CHARS = 1024

/**
 * A value's byte string: exactly one CBOR item that is plain data and not `undefined`. The
 * bytes are copied: what a replica keeps must not pin the datagram or body they came in.
 */
function decodeEntryValue(encoded: unknown): { ok: true; value: unknown; bytes: Uint8Array } | { ok: false; problem: string } {
  if (!(encoded instanceof Uint8Array)) return { ok: false, problem: 'value is not a byte string holding the encoded value' }
  let decoded: unknown
  try {
    decoded = decodeItem(encoded)
  } catch {
    return { ok: false, problem: 'value bytes are not one well-formed CBOR item' }
  }
  if (decoded === undefined) return { ok: false, problem: 'value is undefined: a deleted key is sent as undefined, not as encoded bytes' }
  // Counted against our limits by its bytes, a value may not decode to much more than them.
  const value = toPlainValue(decoded, decodedBudget(encoded.length))
  return value.ok ? { ok: true, value: value.value, bytes: new Uint8Array(encoded) } : value
}

