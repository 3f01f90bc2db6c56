import { DsnError } from '../errors'
import { LazyDigest } from './digest'
import { frozenRecord, type EncodedValue } from './values'
import type { BodyEntry } from './body'

export interface OwnStateLimits {
  maxKeysPerNode: number
  maxStateBytes: number
}

/**
 * This node's own state: the values readers see at once, the digest peers compare against,
 * and the writes not yet sent. Writes to one key before the next flush coalesce into one.
 */
export class OwnState {
  private readonly entries = new Map<string, EncodedValue>()
  /** Each key's encoded value to send, or undefined where it was deleted. */
  private readonly pending = new Map<string, Uint8Array | undefined>()
  private totalBytes = 0
  private readonly digestOf = new LazyDigest()

  constructor(private readonly limits: OwnStateLimits) {}

  set(key: string, encoded: EncodedValue): { changed: boolean } {
    const old = this.entries.get(key)
    if (old && Buffer.compare(old.bytes, encoded.bytes) === 0) return { changed: false }
    if (!old && this.entries.size >= this.limits.maxKeysPerNode) {
      throw new DsnError('DSN_TOO_MANY_KEYS', `this node already holds maxKeysPerNode = ${this.limits.maxKeysPerNode} keys`)
    }
    const size = this.totalBytes - (old ? old.bytes.length + Buffer.byteLength(key) : 0) + encoded.bytes.length + Buffer.byteLength(key)
    if (size > this.limits.maxStateBytes) {
      throw new DsnError('DSN_STATE_TOO_LARGE', `state would be ${size} bytes; maxStateBytes is ${this.limits.maxStateBytes}`)
    }
    this.digestOf.put(key, encoded.bytes)
    this.entries.set(key, encoded)
    this.totalBytes = size
    this.pending.set(key, encoded.bytes)
    return { changed: true }
  }

  delete(key: string): boolean {
    const old = this.entries.get(key)
    if (!old) return false
    this.digestOf.remove(key)
    this.entries.delete(key)
    this.totalBytes -= old.bytes.length + Buffer.byteLength(key)
    this.pending.set(key, undefined)
    return true
  }

  /** What peers compare their replica against (owned here: copy it to keep it). */
  get digest(): Uint8Array {
    return this.digestOf.value
  }

  get(key: string): unknown {
    return this.entries.get(key)?.value
  }

  get size(): number {
    return this.entries.size
  }

  get bytes(): number {
    return this.totalBytes
  }

  hasPending(): boolean {
    return this.pending.size > 0
  }

  /** The coalesced writes since the last call, in first-write order. */
  takePending(): BodyEntry[] {
    const out: BodyEntry[] = []
    for (const [key, bytes] of this.pending) out.push({ key, bytes })
    this.pending.clear()
    return out
  }

  /** Every current entry, for a snapshot (or the state file). */
  all(): Array<BodyEntry & { bytes: Uint8Array }> {
    return [...this.entries].map(([key, e]) => ({ key, bytes: e.bytes }))
  }

  snapshot(): Readonly<Record<string, unknown>> {
    return frozenRecord(this.entries)
  }
}
