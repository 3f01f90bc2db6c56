import { REPAIR } from './timers'

/**
 * A token bucket for two quantities at once (datagrams and bytes), refilled continuously up
 * to one second's worth. A spend may take it into debt (down to maxDebtSeconds' worth), so a
 * snapshot larger than a second's budget is never starved; until the debt is repaid nothing
 * else is allowed. Pure: the caller passes `now`.
 */
export class TokenBucket {
  private datagrams: number
  private bytes: number
  private at: number

  constructor(private readonly datagramsPerSec: number, private readonly bytesPerSec: number, now: number) {
    this.datagrams = datagramsPerSec
    this.bytes = bytesPerSec
    this.at = now
  }

  /** True when at least one datagram and one byte are in the bucket. */
  canSpend(now: number): boolean {
    this.refill(now)
    return this.datagrams >= 1 && this.bytes >= 1
  }

  spend(datagrams: number, bytes: number, now: number): void {
    this.refill(now)
    const floor = -REPAIR.maxDebtSeconds
    this.datagrams = Math.max(floor * this.datagramsPerSec, this.datagrams - datagrams)
    this.bytes = Math.max(floor * this.bytesPerSec, this.bytes - bytes)
  }

  /** When canSpend() will next be true (now when it already is). */
  readyAt(now: number): number {
    this.refill(now)
    const wait = Math.max(0, (1 - this.datagrams) / this.datagramsPerSec, (1 - this.bytes) / this.bytesPerSec)
    return wait === 0 ? now : now + wait * 1000
  }

  private refill(now: number): void {
    const seconds = Math.max(0, now - this.at) / 1000
    this.at = Math.max(this.at, now)
    this.datagrams = Math.min(this.datagramsPerSec, this.datagrams + seconds * this.datagramsPerSec)
    this.bytes = Math.min(this.bytesPerSec, this.bytes + seconds * this.bytesPerSec)
  }
}

/** Rates of a RepairBudget (REPAIR by default; tests pass their own). */
export interface RepairRates {
  originDatagramsPerSec: number
  originBytesPerSec: number
  peerDatagramsPerSec: number
  peerBytesPerSec: number
}

export type RepairVerdict = 'ok' | 'origin-budget' | 'peer-budget'

/**
 * What repair (resends and snapshots) this node may send as an origin: one bucket for all of
 * it and one per requesting peer. A requester that keeps asking past its share is answered
 * later (its NACK backs off and comes again), never with more traffic than the budget.
 */
export class RepairBudget {
  private readonly origin: TokenBucket
  private readonly perPeer = new Map<string, TokenBucket>()

  constructor(now: number, private readonly maxPeers: number, private readonly rates: RepairRates = REPAIR) {
    this.origin = new TokenBucket(rates.originDatagramsPerSec, rates.originBytesPerSec, now)
  }

  /** May repair for `requester` go out now? Does not spend. */
  check(requester: string, now: number): RepairVerdict {
    if (!this.origin.canSpend(now)) return 'origin-budget'
    if (!this.bucket(requester, now).canSpend(now)) return 'peer-budget'
    return 'ok'
  }

  /** Repair was sent for `requester`: `datagrams` datagrams of `bytes` bytes in all. */
  spend(requester: string, datagrams: number, bytes: number, now: number): void {
    this.origin.spend(datagrams, bytes, now)
    this.bucket(requester, now).spend(datagrams, bytes, now)
  }

  private bucket(requester: string, now: number): TokenBucket {
    let bucket = this.perPeer.get(requester)
    if (!bucket) {
      // Bounded like everything the network feeds: the oldest requester's bucket goes (a
      // forgotten requester starts with a full bucket, which the origin bucket still caps).
      if (this.perPeer.size >= 2 * this.maxPeers) this.perPeer.delete(this.perPeer.keys().next().value as string)
      bucket = new TokenBucket(this.rates.peerDatagramsPerSec, this.rates.peerBytesPerSec, now)
      this.perPeer.set(requester, bucket)
    }
    return bucket
  }
}

/**
 * A receiver's back-off for one origin's gap: each NACK that goes unanswered (not one missing
 * number arrived by the next retry, and the origin was not seen resending anything) multiplies
 * the retry delay by REPAIR.nackBackoffGrowth, up to REPAIR.nackBackoffMaxMs; any progress
 * resets it. An origin that resends, for us or others, is answering: on a lossy path our NACK
 * or its repair was lost, and the fast retry stays (the simulator at N = 20 and the bench lab's
 * 30% loss per link: median time to exact 825 -> 394 ms, bench/micro/exact-under-loss.ts). An
 * overloaded origin past its repair budget resends nothing, so it still gets fewer and fewer
 * NACKs instead of a steady 25 per second per receiver.
 */
export class NackBackoff {
  private unanswered = 0
  private heldAtLastNack = -1
  private repairSeen = false

  /** The origin resent something (for anyone) since our last NACK: it is answering NACKs. */
  noteRepair(): void {
    this.repairSeen = true
  }

  /**
   * A NACK is being sent while `held` sequence numbers have arrived (contiguous + above the gap).
   * True when it repeats our last NACK with nothing gained since: that one or its repair was lost.
   */
  sent(held: number): boolean {
    const repeat = held <= this.heldAtLastNack
    if (!repeat) this.unanswered = 0
    // No progress, but the origin is repairing: our NACK or its answer was lost, not ignored.
    else if (!this.repairSeen) this.unanswered++
    this.heldAtLastNack = held
    this.repairSeen = false
    return repeat
  }

  /** Delay before the next NACK check, given the base retry. */
  retryMs(baseMs: number): number {
    return Math.min(REPAIR.nackBackoffMaxMs, baseMs * REPAIR.nackBackoffGrowth ** Math.min(this.unanswered, 32))
  }

  get misses(): number {
    return this.unanswered
  }
}
