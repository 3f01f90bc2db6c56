import type { Counters } from './counters'
import type { OutgoingStream, Sequenced } from './outgoing-stream'
import type { OwnState } from './own-state'
import type { RepairBudget } from './repair-budget'
import { RESEND_SNAPSHOT_THRESHOLD, TIMERS } from './timers'
import type { Address } from './types'

export interface OriginRepairHooks {
  /** Send one of our data datagrams again (a resend or a snapshot chunk), marked as repair. */
  sendData(item: Sequenced, now: number): void
  /** Send one resend to one requester only (point-to-point repair, point-to-point.ts). */
  sendDataTo(item: Sequenced, requester: string, address: Address, now: number): void
  /** Publish pending writes first, so a snapshot is never older than a delta sent after it. */
  flush(now: number): void
}

/**
 * The origin's side of repair: a NACK for our stream is answered from history, or with a
 * snapshot when the history is gone or the snapshot is smaller; each number is resent at most
 * once per window and one snapshot serves every receiver that asked within its window. All of
 * it is paid from a RepairBudget (per requester and in total): past it the NACK goes unanswered
 * for now, and the requester's back-off asks again later.
 */
export class OriginRepair {
  /** When a NACK for our stream last reached us: loss was seen, so tail heartbeats pay. */
  lastNackAt = -Infinity
  private lastSnapshotAt = -Infinity
  private readonly resentAt = new Map<number, number>()
  /** Copies of each resend: more where repairs themselves are lost (see adaptCopies). */
  private copies = 1
  private resentInWindow = 0
  private renackedInWindow = 0

  constructor(
    private readonly counters: Counters,
    private readonly stream: OutgoingStream,
    private readonly own: OwnState,
    private readonly hooks: OriginRepairHooks,
    private readonly budget: RepairBudget,
  ) {}

  /** Copies each resend gets now: 1, or more where repairs themselves are being lost. */
  get resendCopies(): number {
    return this.copies
  }

  /**
   * `replyTo`: the NACK came to us alone (by unicast), so its losses are the requester's own:
   * resends go to that address only, one copy each (point-to-point.ts). Snapshots still go to the
   * group: they take new sequence numbers, which every receiver must see.
   */
  handleNack(ranges: ReadonlyArray<readonly [number, number]>, wantSnapshot: boolean, requester: string, now: number, replyTo?: Address): void {
    this.counters.add('nacks-received')
    this.lastNackAt = now
    const verdict = this.budget.check(requester, now)
    if (verdict !== 'ok') {
      this.counters.add('repair-deferred')
      this.counters.add(`repair-deferred.${verdict}`)
      return
    }
    const oldest = this.stream.oldest()
    let wanted = 0
    for (const [first, last] of ranges) wanted += Math.min(last, this.stream.seq) - first + 1
    const tooOld = ranges.some(([first]) => first < oldest)
    // A receiver that holds nothing of this incarnation (it restarted, or just met us) costs one
    // snapshot, not our whole history in resends, which every receiver would get too. Only then:
    // a snapshot takes new sequence numbers, and answering every small gap with one would make
    // each lost snapshot datagram a new gap, a loop that overload keeps going.
    const fromScratch = ranges.length > 0 && ranges[0][0] <= 1 && wanted > 1
    const cheaperAsSnapshot = (wanted > RESEND_SNAPSHOT_THRESHOLD && this.own.bytes < wanted * 256) || (fromScratch && this.own.bytes < this.wantedBytes(ranges))
    if (wantSnapshot || tooOld || cheaperAsSnapshot) {
      this.sendSnapshot(requester, now)
      return
    }
    if (replyTo !== undefined) return this.resendTo(ranges, requester, replyTo, now)
    for (const [seq, item] of this.held(ranges)) {
      const since = now - (this.resentAt.get(seq) ?? -Infinity)
      if (since < TIMERS.resendSuppressMs) {
        this.counters.add('resends-suppressed')
        continue
      }
      if (this.budget.check(requester, now) !== 'ok') {
        // The rest of the ranges waits for the requester's next NACK.
        this.counters.add('repair-deferred')
        return
      }
      // Asked again after a resend went out: that repair was lost to someone.
      if (since < TIMERS.repairLossWindowMs) this.renackedInWindow++
      this.resentAt.set(seq, now)
      this.counters.add('resends')
      if (this.copies > 1) this.counters.add('resend-copies', this.copies - 1)
      // Every copy is paid from the budget: copies must not double what overload can cost.
      this.budget.spend(requester, this.copies, this.copies * (item.chunk.length + DATA_OVERHEAD_BYTES), now)
      for (let c = 0; c < this.copies; c++) this.hooks.sendData(item, now)
      if (++this.resentInWindow >= TIMERS.repairLossSample) this.adaptCopies()
    }
    if (this.resentAt.size > 4096) {
      for (const [seq, at] of this.resentAt) if (now - at >= TIMERS.resendSuppressMs) this.resentAt.delete(seq)
    }
  }

  /**
   * Point-to-point resends: not suppressed by a group resend of the same number (that one may
   * not have reached this requester either, which is why it asked alone) and never doubled (a
   * receiver that overflowed needs less traffic, not more). The requester's own retry timer
   * and back-off pace them, the budget bounds them.
   */
  private resendTo(ranges: ReadonlyArray<readonly [number, number]>, requester: string, address: Address, now: number): void {
    for (const [, item] of this.held(ranges)) {
      if (this.budget.check(requester, now) !== 'ok') {
        this.counters.add('repair-deferred')
        return
      }
      this.counters.add('resends')
      this.counters.add('resends-direct')
      this.budget.spend(requester, 1, item.chunk.length + DATA_OVERHEAD_BYTES, now)
      this.hooks.sendDataTo(item, requester, address, now)
    }
  }

  /** The NACKed numbers we still hold, in order, with what we sent under them. */
  private *held(ranges: ReadonlyArray<readonly [number, number]>): Generator<[number, Sequenced]> {
    for (const [first, last] of ranges) {
      for (let seq = first; seq <= Math.min(last, this.stream.seq); seq++) {
        const item = this.stream.lookup(seq)
        if (item) yield [seq, item]
      }
    }
  }

  /** Bytes the wanted numbers still in history would cost to resend (scan bounded by the NACK's own bound). */
  private wantedBytes(ranges: ReadonlyArray<readonly [number, number]>): number {
    let bytes = 0
    let scanned = 0
    for (const [first, last] of ranges) {
      for (let seq = Math.max(first, 1); seq <= Math.min(last, this.stream.seq) && scanned < 4096; seq++, scanned++) {
        bytes += (this.stream.lookup(seq)?.chunk.length ?? 0) + DATA_OVERHEAD_BYTES
      }
    }
    return bytes
  }


  /**
   * Where loss is high, most repairs are NACKed again (a receiver lost the resend too), and each
   * round costs every missing receiver another NACK timer: at 30% loss and 19 receivers, 1.4
   * extra NACKs per datagram (bench/micro/nack-rounds.ts). A second copy of each resend makes a
   * lost repair p^2 instead of p, a third p^3 where two still leave most repairs asked for
   * again; a copy is added only while the measured share of repairs asked for again stays
   * high, so a clean or lightly lossy LAN pays nothing.
   */
  private adaptCopies(): void {
    const renacked = this.renackedInWindow / this.resentInWindow
    if (renacked > TIMERS.repairLossRaise && this.copies < TIMERS.maxResendCopies) this.copies++
    else if (renacked < TIMERS.repairLossLower && this.copies > 1) this.copies--
    this.resentInWindow = 0
    this.renackedInWindow = 0
  }


  private sendSnapshot(requester: string, now: number): void {
    if (now - this.lastSnapshotAt < TIMERS.snapshotMinIntervalMs) {
      this.counters.add('snapshots-suppressed')
      return
    }
    this.hooks.flush(now)
    this.lastSnapshotAt = now
    this.counters.add('snapshots-sent')
    const items = this.stream.publishSnapshot(this.own.all())
    let bytes = 0
    for (const item of items) bytes += item.chunk.length + DATA_OVERHEAD_BYTES
    // One snapshot may exceed a second's budget: it goes, and the debt holds back what follows.
    this.budget.spend(requester, items.length, bytes, now)
    for (const item of items) this.hooks.sendData(item, now)
  }
}

/** Header, seal and MAC bytes a data datagram adds to its chunk, roughly: for the byte budget only. */
const DATA_OVERHEAD_BYTES = 120
