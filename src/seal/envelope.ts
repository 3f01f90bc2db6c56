import { createCipheriv, createDecipheriv } from 'node:crypto'
import { PROTOCOL_VERSION } from '../wire/constants'
import type { NetworkKey } from './keys'

/**
 * The sealed datagram:  version (1) | key id (1) | nonce (12) | ChaCha20-Poly1305(inner)
 * with associated data = version | key id | cluster, so a datagram is bound to its protocol
 * version and cluster. The nonce is a random per-sender salt and a counter (see Sealer and
 * docs/PROTOCOL.md section 3), never random alone. inner = flags (1) | frame | [trailer]:
 * an Ed25519 signature (64) when flags = SIGNED, n receiver MACs when flags = MACS | n << 2.
 * The trailer is inside the AEAD: outsiders learn nothing, members check origin.
 */
export const HEADER_BYTES = 2
export const NONCE_BYTES = 12
export const TAG_BYTES = 16
export const SIGNATURE_BYTES = 64
export const FLAG_SIGNED = 1
/** The low two bits of the flags byte; with MACs, the six above them count the entries. */
export const FLAG_MACS = 2
const PROOF_BITS = 3
const MAC_COUNT_SHIFT = 2
/** One receiver MAC: truncated HChaCha20 of the frame hash (6), no hint (seal/pair-keys.ts). */
export const MAC_TAG_BYTES = 6
export const MAC_ENTRY_BYTES = MAC_TAG_BYTES
/** Most MACs in one datagram: beyond this, 6 bytes a receiver outweigh one 64-byte signature and its verify (PROTOCOL.md 3.2). */
export const MAX_MACS = 24
/** Bytes a sealed datagram adds around a frame, signed. */
export const SEAL_OVERHEAD = HEADER_BYTES + NONCE_BYTES + TAG_BYTES + 1 + SIGNATURE_BYTES

export interface Opened {
  version: number
  keyId: number
  signed: boolean
  frame: Uint8Array
  signature: Uint8Array | null
  /** The MAC entries (n x 6 bytes), when flags = MACS. */
  macs: Uint8Array | null
}

export type OpenResult = { ok: true; value: Opened } | { ok: false; reason: 'too-short' | 'bad-version' | 'unknown-key' | 'auth-failed' | 'bad-flags' }

export function signedMessage(cluster: Uint8Array, frame: Uint8Array): Uint8Array {
  // Domain-separated, and bound to the cluster so a signature cannot be replayed into another.
  const out = new Uint8Array(8 + cluster.length + frame.length)
  out.set(SIG_CONTEXT, 0)
  out[7] = PROTOCOL_VERSION
  out.set(cluster, 8)
  out.set(frame, 8 + cluster.length)
  return out
}
const SIG_CONTEXT = new TextEncoder().encode('dsn-sig')

/**
 * Seals one frame. `macs` holds whole MAC entries (at most MAX_MACS), exclusive with a signature.
 * One allocation for the datagram; node:crypto's ChaCha20-Poly1305 (OpenSSL) does the work.
 */
export function seal(key: NetworkKey, cluster: Uint8Array, nonce: Uint8Array, frame: Uint8Array, signature: Uint8Array | null, macs: Uint8Array | null = null): Uint8Array {
  if (nonce.length !== NONCE_BYTES) throw new RangeError(`nonce must be ${NONCE_BYTES} bytes`)
  const trailer = signature ?? macs
  const innerLength = 1 + frame.length + (trailer ? trailer.length : 0)
  const out = Buffer.allocUnsafe(HEADER_BYTES + NONCE_BYTES + innerLength + TAG_BYTES)
  out[0] = PROTOCOL_VERSION
  out[1] = key.id
  out.set(nonce, HEADER_BYTES)
  const cipher = createCipheriv('chacha20-poly1305', key.aeadKey, nonce, { authTagLength: TAG_BYTES })
  cipher.setAAD(associatedDataFor(key.id, cluster), { plaintextLength: innerLength })
  // inner is built in place, then encrypted over itself: one buffer for the whole datagram.
  const inner = out.subarray(HEADER_BYTES + NONCE_BYTES, HEADER_BYTES + NONCE_BYTES + innerLength)
  inner[0] = signature ? FLAG_SIGNED : macs ? FLAG_MACS | ((macs.length / MAC_ENTRY_BYTES) << MAC_COUNT_SHIFT) : 0
  inner.set(frame, 1)
  if (trailer) inner.set(trailer, 1 + frame.length)
  let at = HEADER_BYTES + NONCE_BYTES
  at += cipher.update(inner).copy(out, at)
  at += cipher.final().copy(out, at)
  cipher.getAuthTag().copy(out, at)
  return new Uint8Array(out.buffer, out.byteOffset, out.length)
}

/** Opens with whichever accepted key the key id names; never throws. */
export function open(keys: readonly NetworkKey[], cluster: Uint8Array, datagram: Uint8Array): OpenResult {
  if (datagram.length < HEADER_BYTES + NONCE_BYTES + TAG_BYTES + 1) return { ok: false, reason: 'too-short' }
  const version = datagram[0]
  if (version !== PROTOCOL_VERSION) return { ok: false, reason: 'bad-version' }
  const keyId = datagram[1]
  // dgram hands out Buffers, whose subarray() goes through Buffer's species constructor:
  // one plain view first makes each slice below the typed array's own.
  const bytes = datagram instanceof Buffer ? new Uint8Array(datagram.buffer, datagram.byteOffset, datagram.length) : datagram
  let anyKey = false
  for (const key of keys) {
    if (key.id !== keyId) continue
    anyKey = true
    const aad = associatedDataFor(keyId, cluster)
    const inner = decrypt(key.aeadKey, bytes.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES), aad, bytes.subarray(HEADER_BYTES + NONCE_BYTES))
    if (!inner) continue
    return parseInner(inner, version, keyId)
  }
  return { ok: false, reason: anyKey ? 'auth-failed' : 'unknown-key' }
}

function decrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, body: Uint8Array): Uint8Array | null {
  const length = body.length - TAG_BYTES
  try {
    const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES })
    decipher.setAAD(aad, { plaintextLength: length })
    decipher.setAuthTag(body.subarray(length))
    const head = decipher.update(body.subarray(0, length))
    const tail = decipher.final()
    const inner = tail.length === 0 ? head : Buffer.concat([head, tail])
    // A plain Uint8Array view: what the frame decoder and the replicas keep is not a Buffer.
    return new Uint8Array(inner.buffer, inner.byteOffset, inner.length)
  } catch {
    return null
  }
}

function parseInner(inner: Uint8Array, version: number, keyId: number): OpenResult {
  const flags = inner[0]
  if (flags === 0) return { ok: true, value: { version, keyId, signed: false, frame: inner.subarray(1), signature: null, macs: null } }
  if (flags === FLAG_SIGNED) {
    if (inner.length < 1 + 1 + SIGNATURE_BYTES) return { ok: false, reason: 'bad-flags' }
    const end = inner.length - SIGNATURE_BYTES
    return { ok: true, value: { version, keyId, signed: true, frame: inner.subarray(1, end), signature: inner.subarray(end), macs: null } }
  }
  if ((flags & PROOF_BITS) === FLAG_MACS) {
    const count = flags >>> MAC_COUNT_SHIFT
    const end = inner.length - count * MAC_ENTRY_BYTES
    // At least one MAC, at most MAX_MACS, and a frame of at least one byte before them.
    if (count === 0 || count > MAX_MACS || end < 2) return { ok: false, reason: 'bad-flags' }
    return { ok: true, value: { version, keyId, signed: false, frame: inner.subarray(1, end), signature: null, macs: inner.subarray(end) } }
  }
  return { ok: false, reason: 'bad-flags' }
}

/** The associated data of every datagram under one key id and cluster (the version is fixed): made
 * once, not per datagram. Keyed by the cluster array itself, whose bytes no caller changes. */
const associatedDataCache = new WeakMap<Uint8Array, Map<number, Uint8Array>>()
function associatedDataFor(keyId: number, cluster: Uint8Array): Uint8Array {
  let byKeyId = associatedDataCache.get(cluster)
  if (!byKeyId) associatedDataCache.set(cluster, (byKeyId = new Map()))
  let aad = byKeyId.get(keyId)
  if (!aad) {
    aad = new Uint8Array(HEADER_BYTES + cluster.length)
    aad[0] = PROTOCOL_VERSION
    aad[1] = keyId
    aad.set(cluster, HEADER_BYTES)
    byKeyId.set(keyId, aad)
  }
  return aad
}
