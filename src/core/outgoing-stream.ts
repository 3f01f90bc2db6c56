import { BodyKind } from '../wire/constants'
import { encodeBody, entrySize, type BodyEntry } from './body'

/** One sequenced datagram's payload, kept for resending. */
export interface Sequenced {
  seq: number
  index: number
  count: number
  chunk: Uint8Array
}

/**
 * An origin's outgoing stream: numbers datagrams 1, 2, 3... within the incarnation, packs
 * many small entries into one datagram, fragments a body that does not fit, and keeps a
 * bounded history (by count and bytes) to answer NACKs.
 */
export class OutgoingStream {
  seq = 0
  private readonly history = new Map<number, Sequenced>()
  private historyBytes = 0

  constructor(
    private readonly historySize: number,
    private readonly historyMaxBytes: number,
    /** Largest chunk that fits in one datagram after headers and seal. */
    private readonly chunkBudget: number,
  ) {}

  /** Deltas: as few datagrams as fit; an entry larger than one datagram is fragmented alone. */
  publishDelta(entries: readonly BodyEntry[]): Sequenced[] {
    const out: Sequenced[] = []
    let group: BodyEntry[] = []
    let groupSize = 8 // array header and kind
    for (const entry of entries) {
      const size = entrySize(entry)
      if (group.length > 0 && groupSize + size > this.chunkBudget) {
        this.publish(BodyKind.Delta, group, out)
        group = []
        groupSize = 8
      }
      group.push(entry)
      groupSize += size
    }
    if (group.length > 0) this.publish(BodyKind.Delta, group, out)
    return out
  }

  /** The whole state as one body: receivers replace what they hold with it. */
  publishSnapshot(entries: readonly BodyEntry[]): Sequenced[] {
    return this.publish(BodyKind.Snapshot, entries, [])
  }

  lookup(seq: number): Sequenced | undefined {
    return this.history.get(seq)
  }

  /** Lowest sequence number still in history (seq + 1 when history is empty). */
  oldest(): number {
    for (const seq of this.history.keys()) return seq
    return this.seq + 1
  }

  /** Appends the body's datagrams to `out`, which it returns. */
  private publish(kind: BodyKind, entries: readonly BodyEntry[], out: Sequenced[]): Sequenced[] {
    const body = encodeBody(kind, entries)
    const count = Math.max(1, Math.ceil(body.length / this.chunkBudget))
    for (let index = 0; index < count; index++) {
      const chunk = body.subarray(index * this.chunkBudget, (index + 1) * this.chunkBudget)
      const item = { seq: ++this.seq, index, count, chunk }
      this.remember(item)
      out.push(item)
    }
    return out
  }

  private remember(item: Sequenced): void {
    this.history.set(item.seq, item)
    this.historyBytes += item.chunk.length
    // Map iteration order is insertion order, so the first key is always the oldest.
    for (const [seq, old] of this.history) {
      if (this.history.size <= this.historySize && this.historyBytes <= this.historyMaxBytes) break
      if (seq === item.seq) break
      this.history.delete(seq)
      this.historyBytes -= old.chunk.length
    }
  }
}
