import * as crypto from 'node:crypto'
import { hchacha } from '@noble/ciphers/chacha'
import { PROTOCOL_VERSION } from '../wire/constants'
import { MAC_ENTRY_BYTES, MAC_TAG_BYTES } from './envelope'

/**
 * Receiver-specific MACs (as in DDS Security): each ordered pair of nodes (origin -> receiver)
 * has a key only those two can compute, from X25519 of their identities. An origin appends one
 * short MAC per receiver it knows; each receiver checks only its own. The frame is hashed once
 * (SHA-256), and each receiver's MAC is HChaCha20 of that hash under its pair key: one node:crypto
 * call per datagram instead of one HMAC per receiver, whose per-call overhead dominated the
 * writer (9 HMACs 32 us, one hash and 9 HChaCha20 3.7 us, bench/micro/mac-choice.ts).
 * docs/PROTOCOL.md section 3.2 has the argument and the limits.
 */
export interface PairKey {
  /** The 32-byte key for frames from `origin` to `receiver`. */
  key: Uint8Array
  /** The same key as HChaCha20 takes it: eight little-endian words, read once. */
  words: Uint32Array
}

/**
 * K(origin -> receiver) = HKDF-SHA256(X25519 shared secret, salt "dsn/<version>",
 * info "mac " | cluster | 0x00 | origin Ed25519 key | receiver Ed25519 key, 32 bytes).
 * The Ed25519 keys bind the pair key to the pinned identities and to the direction.
 */
export function derivePairKey(shared: Uint8Array, cluster: string, originKey: Uint8Array, receiverKey: Uint8Array): PairKey {
  const info = Buffer.concat([Buffer.from(`mac ${cluster}`), Buffer.of(0), originKey, receiverKey])
  const key = new Uint8Array(crypto.hkdfSync('sha256', shared, `dsn/${PROTOCOL_VERSION}`, info, 32))
  return { key, words: littleEndianWords(key, 8) }
}

/** HChaCha20's constant words, "expand 32-byte k" (RFC 8439 section 2.3). */
const SIGMA = Uint32Array.of(0x61707865, 0x3320646e, 0x79622d32, 0x6b206574)

/**
 * What every receiver's MAC of one frame starts from: SHA-256(frame)[0..16] as HChaCha20's
 * 16-byte input, four little-endian words. Computed once per datagram, whatever the receivers.
 */
export function macInput(frame: Uint8Array, into = new Uint32Array(4)): Uint32Array {
  return littleEndianWords(sha256(frame), 4, into)
}

type OneShotHash = (algorithm: string, data: Uint8Array, encoding: 'buffer') => Uint8Array
const oneShot = (crypto as { hash?: OneShotHash }).hash

/**
 * Once per datagram on both ends. crypto.hash (Node 20.12+) makes no Hash object: 26 against
 * 31 us per call with cold caches, 0.9 against 1.0 warm. Node 18 (Debian's) has only createHash.
 */
export const sha256: (data: Uint8Array) => Uint8Array = oneShot
  ? (data) => oneShot('sha256', data, 'buffer')
  : (data) => crypto.createHash('sha256').update(data).digest()

/** Scratch for HChaCha20's input and output and a receiver's expected MAC: MACs are computed
 * one at a time, never re-entrantly, on every datagram of both ends. */
const block = new Uint32Array(8)
const input = new Uint32Array(4)
const expected = new Uint8Array(MAC_TAG_BYTES)

/** Writes the MAC of one receiver, HChaCha20(pair key, input)[0..6], at out[at..at+6]. */
function writeMac(pair: PairKey, input: Uint32Array, out: Uint8Array, at: number): void {
  hchacha(SIGMA, pair.words, input, block)
  for (let i = 0; i < MAC_TAG_BYTES; i++) out[at + i] = (block[i >>> 2] >>> ((i & 3) * 8)) & 0xff
}

/** The MAC of one frame for one receiver, 6 bytes (tests and vectors; senders use macTrailer). */
export function macOf(pair: PairKey, frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(MAC_TAG_BYTES)
  writeMac(pair, macInput(frame), out, 0)
  return out
}

/** The MAC trailer of a datagram: one MAC per receiver (their count goes in the flags byte). */
export function macTrailer(receivers: readonly PairKey[], frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(receivers.length * MAC_ENTRY_BYTES)
  macInput(frame, input)
  for (let i = 0; i < receivers.length; i++) writeMac(receivers[i], input, out, i * MAC_ENTRY_BYTES)
  return out
}

/**
 * Whether one of `entries` (the MAC trailer) is our MAC of `frame`. Every entry
 * is compared in full, in constant time: with no hint to point at ours, a forger's best is
 * still one 48-bit guess per entry, as when it could copy our hint into every entry (version 4).
 * False: the origin did not key us yet, or the entries are forged; the two look alike.
 */
export function hasOurMac(pair: PairKey, frame: Uint8Array, entries: Uint8Array): boolean {
  writeMac(pair, macInput(frame, input), expected, 0)
  let found = false
  for (let at = 0; at + MAC_ENTRY_BYTES <= entries.length; at += MAC_ENTRY_BYTES) {
    let diff = 0
    for (let i = 0; i < MAC_TAG_BYTES; i++) diff |= expected[i] ^ entries[at + i]
    if (diff === 0) found = true
  }
  return found
}

/** The first `count` little-endian 32-bit words of `bytes`, whatever the host's byte order. */
function littleEndianWords(bytes: Uint8Array, count: number, words = new Uint32Array(count)): Uint32Array {
  for (let i = 0; i < count; i++) {
    const at = i * 4
    words[i] = (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0
  }
  return words
}
