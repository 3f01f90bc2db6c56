import { TokenBucket } from './repair-budget'
import { HEALTH, TIMERS } from './timers'
import type { LocalHealth } from './local-health'

/**
 * Group or point to point: where repair and probes go (docs/PROTOCOL.md sections 9 and 11,
 * "point to point").
 *
 * The group is the right place when receivers share what they see: one NACK serves every
 * receiver that lost the same datagram and one resend repairs them all (SRM/NORM), one PING of
 * a quiet peer and its signed answer tell everyone it lives. When a node lost datagrams or heard
 * a peer late because its own process was starved (its receive queue overflowed: kernel drops,
 * a lagging loop), nobody else shares that loss: a group NACK or PING then costs every other
 * process a datagram to read for nothing, and so do the group resend and the group answer (a
 * signature to verify, each). Past saturation (N = 30 on 2 cores) that traffic was itself what
 * kept the queues overflowing, long after the writes stopped. Point to point costs one reception
 * per loss or probe instead of N - 1, so repair and probing cannot grow the overload that
 * caused them.
 *
 * Pure: the caller passes `now`.
 */
export class PointToPoint {
  private localLossAt = -Infinity
  /** When we last answered each pinger's direct PING: bounded, cleared when large. */
  private readonly answeredAt = new Map<string, number>()

  /** All direct answers together (each is a signature): bounded whatever the pinger ids. */
  private readonly answers: TokenBucket

  constructor(private readonly health: LocalHealth, private readonly maxPeers: number, now: number) {
    // Datagrams are what is bounded here; bytes are not (the bucket counts both).
    this.answers = new TokenBucket(TIMERS.directPingAnswersPerSec, Number.MAX_SAFE_INTEGER, now)
  }

  /** The kernel dropped datagrams for our socket (full receive buffer): our losses are our own. */
  noteLocalLoss(now: number): void {
    this.localLossAt = now
  }

  /** True when our NACKs and PINGs should go to their target alone: we lag, or the kernel dropped our datagrams lately. */
  direct(now: number): boolean {
    return this.health.isDegraded(now) || now - this.localLossAt < HEALTH.localLossMemoryMs
  }

  /** A direct PING from `pinger`: answered by a direct heartbeat at most once per `minIntervalMs` per pinger, within a total rate. */
  mayAnswer(pinger: string, now: number, minIntervalMs: number): boolean {
    if (now - (this.answeredAt.get(pinger) ?? -Infinity) < minIntervalMs) return false
    if (!this.answers.canSpend(now)) return false
    this.answers.spend(1, 0, now)
    if (this.answeredAt.size >= 4 * this.maxPeers) this.answeredAt.clear()
    this.answeredAt.set(pinger, now)
    return true
  }
}
