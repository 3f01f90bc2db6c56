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

/**
 * A state digest whose entry hashes are taken when the digest is read (a heartbeat, a
 * comparison), not on every write: a key written 100 times between two heartbeats is hashed
 * once, and a write costs no node:crypto call. At most one hash per key is in the digest.
 */
export class LazyDigest {
  private readonly folded = new Uint8Array(DIGEST_BYTES)
  /** The hash each key contributes to `folded`. */
  private readonly hashes = new Map<string, Uint8Array>()
  /** Keys written since the last read, with their encoded value: not hashed yet. */
  private readonly unhashed = new Map<string, Uint8Array>()

  /** `key` now holds `valueBytes` (its previous contribution, if any, leaves the digest). */
  put(key: string, valueBytes: Uint8Array): void {
    this.unfold(key)
    this.unhashed.set(key, valueBytes)
  }

  /** `key` no longer counts in the digest. */
  remove(key: string): void {
    this.unfold(key)
    this.unhashed.delete(key)
  }

  /** The XOR of every current entry's hash. Owned by this object: copy it to keep it. */
  get value(): Uint8Array {
    for (const [key, bytes] of this.unhashed) {
      const hash = entryHash(key, bytes)
      xorInto(this.folded, hash)
      this.hashes.set(key, hash)
    }
    this.unhashed.clear()
    return this.folded
  }

  private unfold(key: string): void {
    const hash = this.hashes.get(key)
    if (!hash) return
    xorInto(this.folded, hash)
    this.hashes.delete(key)
  }
}
