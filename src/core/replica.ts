import { BodyKind } from '../wire/constants'
import { decodeBody } from './body'
import { LazyDigest } from './digest'
import { GapTracker } from './gap-tracker'
import { NackBackoff } from './repair-budget'
import { freeze, frozenRecord } from './values'
import type { DataFrame } from '../wire/frame'
import type { UpdateEvent } from '../node/events'

interface ReplicaEntry {
  value: unknown
  /** Sequence number of the body that wrote it: a write applies only over an older one. */
  version: number
  /** Key and encoded value bytes, counted against maxStateBytes. */
  size: number
}

const MAX_ASSEMBLIES = 16
/** What one held fragment costs beyond its bytes (maps, objects): empty chunks are not free. */
const PART_OVERHEAD = 64

export interface ReplicaLimits {
  maxKeyBytes: number
  maxKeysPerNode: number
  maxValueBytes: number
  maxStateBytes: number
  /** Bytes of incomplete fragmented bodies held at once for this origin. */
  maxReassemblyBytes: number
}

export type ReplicaDrop = 'duplicate' | 'malformed-body' | 'reassembly-full'

/**
 * A read-only copy of one origin incarnation's state. Bodies apply as they arrive, in any
 * order: each key keeps the version (sequence number) that wrote it, and deleted keys keep a
 * tombstone until every older number has arrived, so a late datagram never undoes a newer
 * write and one loss does not hold back later writes.
 */
export class Replica {
  readonly gaps = new GapTracker()
  /** Every entry's hash, held or refused (see write()): equals the origin's digest once in sync. */
  private readonly digestOf = new LazyDigest()
  private readonly entries = new Map<string, ReplicaEntry>()
  private readonly tombstones = new Map<string, number>()
  /** Keys the origin holds that we refused: their version (their hash stays in the digest). */
  private readonly refused = new Map<string, { version: number }>()
  private readonly assembling = new Map<number, { count: number; parts: Map<number, Uint8Array>; bytes: number }>()
  private assemblingBytes = 0
  private stateBytes = 0
  /** Next time this replica may NACK; null when nothing is missing. */
  nackAt: number | null = null
  /** Numbers forgotten to keep the window bounded. */
  evictions = 0
  /** Entries refused (our limits, or not plain data); see write(). */
  keysRefused = 0
  /** Incomplete bodies dropped to make room for newer ones. */
  assembliesEvicted = 0
  lastSnapshotRequestAt = -Infinity
  /** Wait before the next snapshot request while the digest still differs; doubles each time. */
  snapshotBackoffMs = 0
  /** A snapshot request is armed on the NACK timer (sent when it fires, unless overheard). */
  snapshotWanted = false
  /** Another receiver asked this origin for a snapshot at this time: ours would be redundant. */
  snapshotOverheardAt = -Infinity
  /** Unanswered NACKs stretch the retry (receiver-side back-off). */
  readonly nackBackoff = new NackBackoff()

  constructor(
    readonly nodeId: string,
    readonly incarnation: number,
    private readonly limits: ReplicaLimits,
    /** Most sequence numbers held above `contiguous` before more are refused. */
    private readonly window: number,
  ) {}

  /** Takes one data datagram; returns the updates it caused or why it was dropped. */
  receive(frame: DataFrame): { updates: UpdateEvent[] } | { drop: ReplicaDrop } {
    if (this.gaps.has(frame.seq)) return { drop: 'duplicate' }
    // Bound what is held above the gap by forgetting the lowest number held: it will be
    // NACKed again (applying twice is harmless: versions only move forward), while the
    // datagram that fills the gap, or the snapshot that replaces it all, still gets in.
    if (this.gaps.pendingAbove >= this.window) {
      this.gaps.forgetLowest()
      this.evictions++
    }
    if (frame.count === 1) {
      this.gaps.add(frame.seq)
      return this.applyBody(frame.chunk, frame.seq)
    }
    const base = frame.seq - frame.index
    let message = this.assembling.get(base)
    if (!message) {
      // An honest origin has one or two fragmented bodies in flight: a flood of bodies that
      // never complete must not grow memory. The oldest goes; a snapshot repairs what it held.
      if (this.assembling.size >= MAX_ASSEMBLIES) this.evictOldestAssembly()
      message = { count: frame.count, parts: new Map(), bytes: PART_OVERHEAD }
      this.assembling.set(base, message)
      this.assemblingBytes += PART_OVERHEAD
    }
    if (message.count !== frame.count) return { drop: 'malformed-body' }
    if (message.parts.has(frame.index)) {
      this.gaps.add(frame.seq)
      return { updates: [] }
    }
    const cost = frame.chunk.length + PART_OVERHEAD
    if (this.assemblingBytes + cost > this.limits.maxReassemblyBytes) return { drop: 'reassembly-full' }
    this.gaps.add(frame.seq)
    message.parts.set(frame.index, frame.chunk)
    message.bytes += cost
    this.assemblingBytes += cost
    if (message.parts.size < message.count) return { updates: [] }
    this.assembling.delete(base)
    this.assemblingBytes -= message.bytes
    const chunks: Uint8Array[] = []
    for (let i = 0; i < message.count; i++) chunks.push(message.parts.get(i) as Uint8Array)
    return this.applyBody(Buffer.concat(chunks), base)
  }

  private evictOldestAssembly(): void {
    const oldest = Math.min(...this.assembling.keys())
    this.assemblingBytes -= (this.assembling.get(oldest) as { bytes: number }).bytes
    this.assembling.delete(oldest)
    this.assembliesEvicted++
  }

  /** Owned here: copy it to keep it. */
  get digest(): Uint8Array {
    return this.digestOf.value
  }

  get(key: string): unknown {
    return this.entries.get(key)?.value
  }

  get size(): number {
    return this.entries.size
  }

  keys(): string[] {
    return [...this.entries.keys()]
  }

  snapshot(): Readonly<Record<string, unknown>> {
    return frozenRecord(this.entries)
  }

  /** Nothing is missing or half-assembled: the digest must then equal the origin's. */
  isSettled(originSeq: number): boolean {
    return this.gaps.contiguous === originSeq && this.gaps.latest === originSeq && this.assembling.size === 0
  }

  private applyBody(bytes: Uint8Array, version: number): { updates: UpdateEvent[] } | { drop: ReplicaDrop } {
    const body = decodeBody(bytes, this.limits.maxKeyBytes)
    if (!body) return { drop: 'malformed-body' }
    const updates: UpdateEvent[] = []
    for (const entry of body.entries) this.write(entry.key, entry.value, entry.bytes, version, updates, false)
    for (const entry of body.refused) {
      this.keysRefused++
      if (entry.key !== undefined) this.write(entry.key, entry.value, entry.bytes, version, updates, true)
    }
    if (body.kind === BodyKind.Snapshot) {
      const present = new Set(body.entries.map((entry) => entry.key))
      for (const entry of body.refused) if (entry.key !== undefined) present.add(entry.key)
      for (const [key, entry] of [...this.entries, ...this.refused]) {
        if (!present.has(key) && entry.version < version) this.write(key, undefined, undefined, version, updates, false)
      }
      for (const [base, message] of this.assembling) {
        if (base < version) {
          this.assembling.delete(base)
          this.assemblingBytes -= message.bytes
        }
      }
      this.gaps.coverBelow(version)
    }
    this.collectTombstones()
    return { updates }
  }

  /**
   * Applies one entry: `value` decoded from the origin's `encoded` bytes, both undefined for a
   * deleted key. One we cannot hold (over our limits, or `refusedAlready` by the body decoder)
   * is not kept, but its hash stays in the digest, so the digest says whether we saw
   * everything the origin holds, and a refusal does not turn into a snapshot request forever.
   */
  private write(key: string, value: unknown, encoded: Uint8Array | undefined, version: number, updates: UpdateEvent[], refusedAlready: boolean): void {
    const current = this.entries.get(key)
    const refused = this.refused.get(key)
    const currentVersion = current?.version ?? refused?.version ?? this.tombstones.get(key) ?? 0
    if (version <= currentVersion) return
    if (refused) {
      this.digestOf.remove(key)
      this.refused.delete(key)
    }
    if (encoded === undefined) {
      this.tombstones.set(key, version)
      if (current) this.remove(key, current, updates)
      return
    }
    // The origin's own bytes: counted and hashed as it counts and hashes them.
    const size = Buffer.byteLength(key) + encoded.length
    // Our limits hold for what peers make us keep, too: a member cannot fill our memory.
    const tooMany = !current && this.entries.size >= this.limits.maxKeysPerNode
    const tooLarge = encoded.length > this.limits.maxValueBytes || this.stateBytes - (current?.size ?? 0) + size > this.limits.maxStateBytes
    if (refusedAlready || tooMany || tooLarge) {
      if (!refusedAlready) this.keysRefused++
      this.tombstones.delete(key)
      // The value we held is no longer the origin's: drop it rather than show a stale one.
      if (current) this.remove(key, current, updates)
      // Bounded (a hash and a key each): past it the digest differs and requests back off.
      if (this.refused.size < 4 * this.limits.maxKeysPerNode + 1024) {
        this.refused.set(key, { version })
        this.digestOf.put(key, encoded)
      }
      return
    }
    this.tombstones.delete(key)
    this.digestOf.put(key, encoded)
    this.stateBytes += size - (current?.size ?? 0)
    const frozen = freeze(value)
    if (current) {
      // Rewritten in place: a key written again (most writes) costs no new entry.
      current.value = frozen
      current.version = version
      current.size = size
    } else this.entries.set(key, { value: frozen, version, size })
    updates.push({ nodeId: this.nodeId, key, value: frozen, deleted: false })
  }

  private remove(key: string, current: ReplicaEntry, updates: UpdateEvent[]): void {
    this.digestOf.remove(key)
    this.stateBytes -= current.size
    this.entries.delete(key)
    updates.push({ nodeId: this.nodeId, key, value: undefined, deleted: true })
  }

  private collectTombstones(): void {
    // Once every number up to a tombstone's version has arrived, no older write can come.
    for (const [key, version] of this.tombstones) if (version <= this.gaps.contiguous) this.tombstones.delete(key)
  }
}
