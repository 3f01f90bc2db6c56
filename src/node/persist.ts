import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { cborHead, MAJOR_ARRAY, MAJOR_BYTES } from '../wire/cbor-head'
import { cbor } from '../wire/frame'

/**
 * This node's own state on disk, so a restart (power cut, upgrade) comes back with its values.
 *
 * File: "DSNSTATE" (8 bytes), a format version byte (1), the first 16 bytes of SHA-256 of the
 * payload, then the payload: CBOR [nodeId, [[key, encodedValue], ...]]. Values are kept as the
 * exact CBOR bytes the engine holds, so a restored value hashes the same on every replica.
 * Written atomically: a temp file, fsync, rename over the old one, fsync of the directory; a
 * torn write leaves the previous file whole. The size is bounded by maxStateBytes plus keys.
 */
export interface PersistedEntry {
  key: string
  bytes: Uint8Array
}

export type LoadResult =
  | { status: 'none' }
  | { status: 'loaded'; entries: PersistedEntry[]; nodeId: string }
  /** Unreadable, torn or foreign: moved aside to `setAside` so it is kept for a look, never fatal. */
  | { status: 'set-aside'; reason: string; setAside: string | undefined }

const MAGIC = Buffer.from('DSNSTATE', 'latin1')
const VERSION = 1
const HASH_BYTES = 16
const HEADER_BYTES = MAGIC.length + 1 + HASH_BYTES

export function encodeStateFile(nodeId: string, entries: readonly PersistedEntry[]): Buffer {
  // [nodeId, [[key, bytes], ...]], assembled around the values' bytes: one cbor.encode of the
  // whole state would grow cbor-x's module-wide buffer for good (src/wire/cbor-head.ts).
  const parts: Uint8Array[] = [cborHead(MAJOR_ARRAY, 2), cbor.encode(nodeId), cborHead(MAJOR_ARRAY, entries.length)]
  for (const e of entries) parts.push(cborHead(MAJOR_ARRAY, 2), cbor.encode(e.key), cborHead(MAJOR_BYTES, e.bytes.length), e.bytes)
  const payload = Buffer.concat(parts)
  return Buffer.concat([MAGIC, Buffer.of(VERSION), digest(payload), payload])
}

/** The entries of a state file, or why it cannot be used. */
export function decodeStateFile(data: Uint8Array): { nodeId: string; entries: PersistedEntry[] } | string {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  if (buf.length < HEADER_BYTES || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return 'not a dsn state file (no DSNSTATE header)'
  if (buf[MAGIC.length] !== VERSION) return `state file format ${buf[MAGIC.length]} is not known (this version reads ${VERSION})`
  const payload = buf.subarray(HEADER_BYTES)
  if (!digest(payload).equals(buf.subarray(MAGIC.length + 1, HEADER_BYTES))) return 'checksum mismatch (torn or corrupt file)'
  let decoded: unknown
  try {
    decoded = cbor.decode(payload)
  } catch (err) {
    return `payload is not CBOR: ${(err as Error).message}`
  }
  if (!Array.isArray(decoded) || typeof decoded[0] !== 'string' || !Array.isArray(decoded[1])) return 'payload has the wrong shape'
  const entries: PersistedEntry[] = []
  for (const item of decoded[1] as unknown[]) {
    if (!Array.isArray(item) || typeof item[0] !== 'string' || !(item[1] instanceof Uint8Array)) return 'an entry has the wrong shape'
    entries.push({ key: item[0], bytes: item[1] })
  }
  return { nodeId: decoded[0], entries }
}

/** Reads the state file; anything wrong with it is set aside and reported, never thrown. */
export function loadState(file: string, nodeId: string, now = Date.now()): LoadResult {
  let data: Buffer
  try {
    data = fs.readFileSync(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'none' }
    return { status: 'set-aside', reason: `cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`, setAside: undefined }
  }
  const decoded = decodeStateFile(data)
  let reason = typeof decoded === 'string' ? decoded : undefined
  if (typeof decoded !== 'string' && decoded.nodeId !== nodeId) reason = `it holds node "${decoded.nodeId}"'s state, not "${nodeId}"'s`
  if (reason === undefined && typeof decoded !== 'string') return { status: 'loaded', entries: decoded.entries, nodeId: decoded.nodeId }
  const setAside = `${file}.bad-${now}`
  try {
    fs.renameSync(file, setAside)
    return { status: 'set-aside', reason: reason as string, setAside }
  } catch {
    return { status: 'set-aside', reason: reason as string, setAside: undefined }
  }
}

/** Replaces the state file atomically (temp + fsync + rename + directory fsync). */
export function saveState(file: string, nodeId: string, entries: readonly PersistedEntry[]): number {
  const data = encodeStateFile(nodeId, entries)
  const tmp = `${file}.${process.pid}.tmp`
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
  const fd = fs.openSync(tmp, 'w', 0o600)
  try {
    fs.writeSync(fd, data)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(tmp, file)
  // The rename is durable only once the directory is on disk too.
  try {
    const dir = fs.openSync(path.dirname(file), 'r')
    try {
      fs.fsyncSync(dir)
    } finally {
      fs.closeSync(dir)
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  }
  return data.length
}

function digest(payload: Uint8Array): Buffer {
  return createHash('sha256').update(payload).digest().subarray(0, HASH_BYTES)
}
