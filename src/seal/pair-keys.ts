import { createHmac, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto'
import { PROTOCOL_VERSION } from '../wire/constants'
import { MAC_ENTRY_BYTES, MAC_TAG_BYTES } from './envelope'

/**
 * Receiver-specific MACs (as in DDS Security): each ordered pair of nodes (origin -> receiver)
 * has a key only those two can compute, from X25519 of their identities. An origin appends one
 * short MAC per receiver it knows; each receiver checks only its own, which costs one HMAC
 * instead of one Ed25519 verify. docs/PROTOCOL.md section 3.2 has the argument and the limits.
 */
export interface PairKey {
  /** HMAC-SHA256 key for frames from `origin` to `receiver`. */
  key: Uint8Array
  /** The same key as a KeyObject: HMAC over a KeyObject skips a key import per call (~30% faster). */
  hmacKey: KeyObject
  /** One byte that lets the receiver find its entry without trying all of them. */
  hint: number
}

/**
 * K(origin -> receiver) = HKDF-SHA256(X25519 shared secret, salt "dsn/<version>",
 * info "mac " | cluster | 0x00 | origin Ed25519 key | receiver Ed25519 key, 33 bytes):
 * bytes 0-31 the key, byte 32 the hint. The Ed25519 keys bind the pair key to the pinned
 * identities and to the direction.
 */
export function derivePairKey(shared: Uint8Array, cluster: string, originKey: Uint8Array, receiverKey: Uint8Array): PairKey {
  const info = Buffer.concat([Buffer.from(`mac ${cluster}`), Buffer.of(0), originKey, receiverKey])
  const out = new Uint8Array(hkdfSync('sha256', shared, `dsn/${PROTOCOL_VERSION}`, info, 33))
  const key = out.subarray(0, 32)
  return { key, hmacKey: createSecretKey(key), hint: out[32] }
}

/** The MAC of one frame for one receiver: HMAC-SHA256(key, frame), first 6 bytes. */
export function macOf(pair: PairKey, frame: Uint8Array): Uint8Array {
  return createHmac('sha256', pair.hmacKey).update(frame).digest().subarray(0, MAC_TAG_BYTES)
}

/** The MAC trailer of a datagram: (hint | MAC) per receiver, then the count. */
export function macTrailer(receivers: readonly PairKey[], frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(receivers.length * MAC_ENTRY_BYTES + 1)
  let at = 0
  for (const pair of receivers) {
    out[at] = pair.hint
    out.set(macOf(pair, frame), at + 1)
    at += MAC_ENTRY_BYTES
  }
  out[at] = receivers.length
  return out
}

/**
 * Checks our entry among `entries` (the trailer without its count). 'absent' when no entry has
 * our hint (the origin did not key us); 'bad' when entries with our hint exist but none match.
 */
export function checkMacs(pair: PairKey, frame: Uint8Array, entries: Uint8Array): 'ok' | 'bad' | 'absent' {
  let expected: Uint8Array | null = null
  let seen = false
  for (let at = 0; at + MAC_ENTRY_BYTES <= entries.length; at += MAC_ENTRY_BYTES) {
    if (entries[at] !== pair.hint) continue
    seen = true
    expected ??= macOf(pair, frame)
    let diff = 0
    for (let i = 0; i < MAC_TAG_BYTES; i++) diff |= expected[i] ^ entries[at + 1 + i]
    if (diff === 0) return 'ok'
  }
  return seen ? 'bad' : 'absent'
}
