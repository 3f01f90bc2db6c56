import type { Counters } from './counters'
import type { OutgoingStream, Sequenced } from './outgoing-stream'
import type { OwnState } from './own-state'
import { RESEND_SNAPSHOT_THRESHOLD, TIMERS } from './timers'

export interface OriginRepairHooks {
  /** Send one of our data datagrams again (a resend or a snapshot chunk). */
  sendData(item: Sequenced, now: number): void
  /** Publish pending writes first, so a snapshot is never older than a delta sent after it. */
  flush(now: number): void
}

/**
 * The origin's side of repair: a NACK for our stream is answered from history, or with a
 * snapshot when the history is gone or the snapshot is smaller; each number is resent at most
 * once per window and one snapshot serves every receiver that asked within its window.
 */
export class OriginRepair {
  /** When a NACK for our stream last reached us: loss was seen, so tail heartbeats pay. */
  lastNackAt = -Infinity
  private lastSnapshotAt = -Infinity
  private readonly resentAt = new Map<number, number>()

  constructor(
    private readonly counters: Counters,
    private readonly stream: OutgoingStream,
    private readonly own: OwnState,
    private readonly hooks: OriginRepairHooks,
  ) {}

  handleNack(ranges: ReadonlyArray<readonly [number, number]>, wantSnapshot: boolean, now: number): void {
    this.counters.add('nacks-received')
    this.lastNackAt = now
    const oldest = this.stream.oldest()
    let wanted = 0
    for (const [first, last] of ranges) wanted += Math.min(last, this.stream.seq) - first + 1
    const tooOld = ranges.some(([first]) => first < oldest)
    const cheaperAsSnapshot = wanted > RESEND_SNAPSHOT_THRESHOLD && this.own.bytes < wanted * 256
    if (wantSnapshot || tooOld || cheaperAsSnapshot) {
      this.sendSnapshot(now)
      return
    }
    for (const [first, last] of ranges) {
      for (let seq = first; seq <= Math.min(last, this.stream.seq); seq++) {
        const item = this.stream.lookup(seq)
        if (!item) continue
        if (now - (this.resentAt.get(seq) ?? -Infinity) < TIMERS.resendSuppressMs) {
          this.counters.add('resends-suppressed')
          continue
        }
        this.resentAt.set(seq, now)
        this.counters.add('resends')
        this.hooks.sendData(item, now)
      }
    }
    if (this.resentAt.size > 4096) {
      for (const [seq, at] of this.resentAt) if (now - at >= TIMERS.resendSuppressMs) this.resentAt.delete(seq)
    }
  }

  private sendSnapshot(now: number): void {
    if (now - this.lastSnapshotAt < TIMERS.snapshotMinIntervalMs) {
      this.counters.add('snapshots-suppressed')
      return
    }
    this.hooks.flush(now)
    this.lastSnapshotAt = now
    this.counters.add('snapshots-sent')
    for (const item of this.stream.publishSnapshot(this.own.all())) this.hooks.sendData(item, now)
  }
}
