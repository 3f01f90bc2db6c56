import { TIMERS } from './timers'
import type { RandomSource } from './types'

/**
 * Where in each interval (ms after a wall-clock multiple of it) a node's regular heartbeat goes.
 * Up to TIMERS.heartbeatGroupMax nodes share one instant, so each node is woken by one burst of
 * heartbeats a second instead of one per peer; a larger cluster splits into evenly spaced slots
 * by a hash of the node id, so no burst outgrows a receive buffer.
 */
export function heartbeatPhase(nodeId: string, members: number, intervalMs: number): number {
  const slots = Math.ceil(members / TIMERS.heartbeatGroupMax)
  if (slots <= 1) return 0
  // FNV-1a, then murmur3's finaliser so the low bits depend on every character (ids that differ
  // in one character's high bits would share a slot). A spread, not a security boundary.
  let hash = 0x811c9dc5
  for (let i = 0; i < nodeId.length; i++) hash = Math.imul(hash ^ nodeId.charCodeAt(i), 0x01000193)
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b)
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35)
  hash = (hash ^ (hash >>> 16)) >>> 0
  return (hash % slots) * (intervalMs / slots)
}

/**
 * When this node's own heartbeats go out (docs/PROTOCOL.md section 10): the regular one at its
 * phase of every interval on the wall clock (heartbeatPhase), a tail heartbeat shortly after data
 * where loss was seen, an early signed one that introduces us to a new peer, and answers to PINGs
 * (rate-limited). Time only: the engine builds and sends what this says is due.
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

  /** `gridOffset`: what to add to engine time to count from our phase of the wall clock's
   * intervals (wall-clock offset minus our phase); its multiples of the interval are our regular
   * heartbeats. Asked at every heartbeat, so a stepped clock moves the grid at the next one. */
  constructor(private readonly intervalMs: number, private readonly random: RandomSource, now: number, private readonly gridOffset: () => number = () => 0) {
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

  /**
   * A heartbeat went out at `now`: the next regular one is the first grid point more than
   * heartbeatMinGap intervals away, so consecutive heartbeats are 0.1 to 1.1 intervals apart
   * whatever sent this one (a regular, tail, introduction or PING answer), as with the +-10%
   * jitter this replaced. A heartbeat just before a grid point stands in for that one.
   */
  noteSent(signed: boolean, now: number): void {
    this.sent++
    const offset = this.gridOffset()
    const earliest = now + offset + TIMERS.heartbeatMinGap * this.intervalMs
    this.nextAt = (Math.floor(earliest / this.intervalMs) + 1) * this.intervalMs - offset
    // Any heartbeat tells the latest seq, so it counts as the pending tail heartbeat.
    if (this.tailAt !== Infinity && --this.tailsLeft > 0) this.tailAt = now + TIMERS.tailHeartbeatRepeatMs
    else this.tailAt = Infinity
    if (signed) this.introduceAt = Infinity
  }
}
