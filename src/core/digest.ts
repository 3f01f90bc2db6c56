import { createHash } from 'node:crypto'
import { DIGEST_BYTES } from '../wire/constants'

/**
 * A state digest is the XOR of one 64-bit hash per entry, so a write updates it in O(1) on
 * both sides (XOR the old entry out, the new one in) and the order of writes does not matter.
 */
export function entryHash(key: string, valueBytes: Uint8Array): Uint8Array {
  const hash = createHash('sha256')
  hash.update(key)
  hash.update(Uint8Array.of(0))
  hash.update(valueBytes)
  return new Uint8Array(hash.digest().subarray(0, DIGEST_BYTES))
}

export function xorInto(target: Uint8Array, hash: Uint8Array): void {
  for (let i = 0; i < DIGEST_BYTES; i++) target[i] ^= hash[i]
}

export function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < DIGEST_BYTES; i++) if (a[i] !== b[i]) return false
  return true
}
