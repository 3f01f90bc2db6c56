import { xchacha20poly1305 } from '@noble/ciphers/chacha'
import { PROTOCOL_VERSION } from '../wire/constants'
import type { NetworkKey } from './keys'

/**
 * The sealed datagram:  version (1) | key id (1) | nonce (24) | XChaCha20-Poly1305(inner)
 * with associated data = version | key id | cluster, so a datagram is bound to its protocol
 * version and cluster. The 24-byte random nonce makes nonce reuse negligible without any
 * shared counter. inner = flags (1) | frame | [Ed25519 signature (64) when flags & SIGNED].
 * The signature is inside the AEAD: outsiders learn nothing, members verify origin.
 */
export const HEADER_BYTES = 2
export const NONCE_BYTES = 24
export const TAG_BYTES = 16
export const SIGNATURE_BYTES = 64
export const FLAG_SIGNED = 1
/** Bytes a sealed datagram adds around a frame, signed. */
export const SEAL_OVERHEAD = HEADER_BYTES + NONCE_BYTES + TAG_BYTES + 1 + SIGNATURE_BYTES

export interface Opened {
  version: number
  keyId: number
  signed: boolean
  frame: Uint8Array
  signature: Uint8Array | null
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

export function seal(key: NetworkKey, cluster: Uint8Array, nonce: Uint8Array, frame: Uint8Array, signature: Uint8Array | null): Uint8Array {
  const inner = new Uint8Array(1 + frame.length + (signature ? SIGNATURE_BYTES : 0))
  inner[0] = signature ? FLAG_SIGNED : 0
  inner.set(frame, 1)
  if (signature) inner.set(signature, 1 + frame.length)
  const header = Uint8Array.of(PROTOCOL_VERSION, key.id)
  const sealed = xchacha20poly1305(key.aeadKey, nonce, associatedData(header, cluster)).encrypt(inner)
  const out = new Uint8Array(HEADER_BYTES + NONCE_BYTES + sealed.length)
  out.set(header, 0)
  out.set(nonce, HEADER_BYTES)
  out.set(sealed, HEADER_BYTES + NONCE_BYTES)
  return out
}

/** Opens with whichever accepted key the key id names; never throws. */
export function open(keys: readonly NetworkKey[], cluster: Uint8Array, datagram: Uint8Array): OpenResult {
  if (datagram.length < HEADER_BYTES + NONCE_BYTES + TAG_BYTES + 1) return { ok: false, reason: 'too-short' }
  const version = datagram[0]
  if (version !== PROTOCOL_VERSION) return { ok: false, reason: 'bad-version' }
  const keyId = datagram[1]
  const candidates = keys.filter((k) => k.id === keyId)
  if (candidates.length === 0) return { ok: false, reason: 'unknown-key' }
  const nonce = datagram.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES)
  const body = datagram.subarray(HEADER_BYTES + NONCE_BYTES)
  const aad = associatedData(datagram.subarray(0, HEADER_BYTES), cluster)
  for (const key of candidates) {
    let inner: Uint8Array
    try {
      inner = xchacha20poly1305(key.aeadKey, nonce, aad).decrypt(body)
    } catch {
      continue
    }
    const flags = inner[0]
    if (flags > FLAG_SIGNED) return { ok: false, reason: 'bad-flags' }
    const signed = flags === FLAG_SIGNED
    if (signed && inner.length < 1 + SIGNATURE_BYTES + 1) return { ok: false, reason: 'bad-flags' }
    const end = signed ? inner.length - SIGNATURE_BYTES : inner.length
    return {
      ok: true,
      value: { version, keyId, signed, frame: inner.subarray(1, end), signature: signed ? inner.subarray(end) : null },
    }
  }
  return { ok: false, reason: 'auth-failed' }
}

function associatedData(header: Uint8Array, cluster: Uint8Array): Uint8Array {
  const aad = new Uint8Array(header.length + cluster.length)
  aad.set(header, 0)
  aad.set(cluster, header.length)
  return aad
}
