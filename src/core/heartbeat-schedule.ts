import { TIMERS } from './timers'
import type { RandomSource } from './types'

/**
 * When this node's own heartbeats go out (docs/PROTOCOL.md section 10): the regular one every
 * interval +-10%, a tail heartbeat shortly after data where loss was seen, an early signed one
 * that introduces us to a new peer, and answers to PINGs (rate-limited). Time only: the engine
 * builds and sends what this says is due.
 */
export class HeartbeatSchedule {
  private nextAt: number
  private tailAt = Infinity
  /** Tail heartbeats still to send after the last data, counting the one at tailAt. */
  private tailsLeft = 0
  private introduceAt = Infinity
  private lastPingAnsweredAt = -Infinity
  /** Heartbeats sent so far: every n-th is signed, every m-th is followed by a peer list. */
  sent = 0

  constructor(private readonly intervalMs: number, private readonly random: RandomSource, now: number) {
    this.nextAt = now
  }

  get deadline(): number {
    return Math.min(this.nextAt, this.tailAt, this.introduceAt)
  }

  /** Null when no heartbeat is due at `now`; else whether it must be signed. */
  due(now: number): { signed: boolean } | null {
    if (now < this.nextAt && now < this.tailAt && now < this.introduceAt) return null
    return { signed: this.sent % TIMERS.signedHeartbeatEvery === 0 || now >= this.introduceAt }
  }

  /** A new peer appeared: a signed heartbeat within a few ms lets it learn our key. */
  introduceSoon(now: number): void {
    this.introduceAt = Math.min(this.introduceAt, now + this.random.next() * TIMERS.introduceMaxDelayMs)
  }

  /** A new candidate address: introduce ourselves at once. */
  introduceNow(now: number): void {
    this.introduceAt = Math.min(this.introduceAt, now)
  }

  /**
   * Data left at `now`; where loss was seen lately, `tails` tail heartbeats follow (the first
   * after tailHeartbeatMs, the next tailHeartbeatRepeatMs apart) to reveal a lost tail.
   */
  afterData(now: number, lossSeenAt: number, tails = 1): void {
    if (now - lossSeenAt >= TIMERS.tailHeartbeatAfterNackMs) return
    this.tailAt = now + TIMERS.tailHeartbeatMs
    this.tailsLeft = tails
  }

  /** Whether a PING may be answered now (at most one answer per pingAnswerMinIntervalMs); counts it if so. */
  answerPing(now: number): boolean {
    if (now - this.lastPingAnsweredAt < TIMERS.pingAnswerMinIntervalMs) return false
    this.lastPingAnsweredAt = now
    return true
  }

  /** A heartbeat went out at `now`: the next regular one is an interval (jittered) later. */
  noteSent(signed: boolean, now: number): void {
    this.sent++
    const jitter = 1 + TIMERS.heartbeatJitter * (2 * this.random.next() - 1)
    this.nextAt = now + this.intervalMs * jitter
    // Any heartbeat tells the latest seq, so it counts as the pending tail heartbeat.
    if (this.tailAt !== Infinity && --this.tailsLeft > 0) this.tailAt = now + TIMERS.tailHeartbeatRepeatMs
    else this.tailAt = Infinity
    if (signed) this.introduceAt = Infinity
  }
}
