import type { DsnConfig } from '../config'
import type { Counters } from './counters'
import { sameDigest } from './digest'
import type { Membership } from './membership'
import type { Peer } from './peer'
import type { Replica } from './replica'
import { MAX_NACK_RANGES, REPAIR, TIMERS } from './timers'
import type { RandomSource } from './types'

export interface GapRepairHooks {
  /** `copies`: the same sealed datagram this many times (one packet number: the origin acts once). */
  nack(peer: Peer, ranges: Array<[number, number]>, wantSnapshot: boolean, now: number, copies?: number): void
  /** Our own lag (local-health.ts), 0 when healthy: NACKs wait at least this long. */
  lag?(now: number): number
}

/**
 * The receiver's side of repair, for every origin we replicate: NACK a gap after a short random
 * wait unless someone else asked first (SRM/NORM suppression), and ask for a snapshot when the
 * stream is complete but the digest still differs (silent divergence).
 */
export class GapRepair {
  constructor(
    private readonly config: DsnConfig,
    private readonly counters: Counters,
    private readonly random: RandomSource,
    private readonly membership: Membership,
    private readonly hooks: GapRepairHooks,
  ) {}

  /** After a heartbeat or data frame from the origin: arm the NACK timer, compare digests. */
  afterFrame(peer: Peer, replica: Replica, now: number): void {
    if (replica.gaps.hasGap() && replica.nackAt === null) {
      // While we lag, the "missing" numbers may be sitting unread in our own receive queue, and
      // every repair we ask for costs every receiver: wait our lag out first.
      const lag = this.hooks.lag?.(now) ?? 0
      this.membership.scheduleNack(replica, now + lag + TIMERS.nackDelayMinMs + this.random.next() * (TIMERS.nackDelayMaxMs - TIMERS.nackDelayMinMs))
    }
    this.checkDigest(peer, replica, now)
  }

  /** Another receiver NACKed these numbers of `origin` (or asked it for a snapshot): the repair is coming, we stay quiet. */
  overheard(origin: Peer, ranges: ReadonlyArray<readonly [number, number]>, wantSnapshot: boolean, now: number): void {
    if (wantSnapshot && origin.replica) origin.replica.snapshotOverheardAt = now
    origin.replica?.gaps.markRequested(ranges, now)
  }

  /** The NACK timer of `replica` came due. */
  nackDue(peer: Peer, replica: Replica, now: number): void {
    if (this.membership.isSuspect(peer, now)) {
      // No repair from a peer we are about to declare down: ask again once it speaks.
      this.counters.add('nacks-deferred.suspect-origin')
      this.membership.scheduleNack(replica, now + TIMERS.probeIntervalMs)
      return
    }
    if (replica.snapshotWanted) this.requestSnapshot(peer, replica, now)
    // The retry grows while our NACKs go unanswered (an overloaded origin, a lossy path).
    const retryMs = replica.nackBackoff.retryMs(TIMERS.nackRetryMs)
    const ranges = replica.gaps.missing(now - retryMs, MAX_NACK_RANGES)
    if (ranges.length > 0) {
      const repeat = replica.nackBackoff.sent(replica.gaps.contiguous + replica.gaps.pendingAbove)
      // A NACK that repeats one which brought nothing goes out twice: on a lossy path it or its
      // repair was lost, and a second copy halves the chance of another wasted round.
      this.hooks.nack(peer, ranges, false, now, repeat ? REPAIR.repeatNackCopies : 1)
      replica.gaps.markRequested(ranges, now)
    } else if (replica.gaps.hasGap()) {
      this.counters.add('nacks-suppressed')
    }
    const retryAfter = Math.max(replica.nackBackoff.retryMs(TIMERS.nackRetryMs), this.hooks.lag?.(now) ?? 0)
    replica.nackAt = replica.gaps.hasGap() ? now + retryAfter + this.random.next() * TIMERS.nackDelayMaxMs : null
  }

  /** All caught up but the digest differs: silent divergence, repaired by a snapshot. */
  private checkDigest(peer: Peer, replica: Replica, now: number): void {
    if (!peer.originDigest || !replica.isSettled(peer.originSeq)) return
    if (sameDigest(replica.digest, peer.originDigest)) {
      replica.snapshotBackoffMs = 0
      return
    }
    // Refused entries stay in the digest (replica.ts), so a mismatch means real divergence; if a
    // snapshot cannot fix it (an origin we cannot decode), ask ever less often, up to a bound.
    const wait = Math.max(replica.snapshotBackoffMs, this.config.heartbeatIntervalMs)
    if (now - replica.lastSnapshotRequestAt < wait || replica.snapshotWanted) return
    this.counters.add('digest-mismatches')
    // Every receiver gets the same heartbeat at once: wait a random moment, so the first one
    // asks and the others overhear it (SRM/NORM suppression, as for NACKs).
    replica.snapshotWanted = true
    this.membership.scheduleNack(replica, now + this.random.next() * REPAIR.snapshotRequestDelayMaxMs)
  }

  private requestSnapshot(peer: Peer, replica: Replica, now: number): void {
    replica.snapshotWanted = false
    // Data may have settled it meanwhile.
    if (!peer.originDigest || !replica.isSettled(peer.originSeq) || sameDigest(replica.digest, peer.originDigest)) return
    const wait = Math.max(replica.snapshotBackoffMs, this.config.heartbeatIntervalMs)
    replica.lastSnapshotRequestAt = now
    replica.snapshotBackoffMs = Math.min(2 * wait, TIMERS.snapshotRequestBackoffMaxMs)
    if (now - replica.snapshotOverheardAt < REPAIR.snapshotRequestSuppressMs) {
      this.counters.add('snapshot-requests-suppressed')
      return
    }
    const at = Math.max(1, peer.originSeq)
    this.hooks.nack(peer, [[at, at]], true, now)
  }
}
