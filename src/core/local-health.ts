import { HEALTH } from './timers'

/** Where a lag sample came from; each is counted under `health.lag-<source>`. */
export type LagSource = 'loop' | 'timer' | 'receive'

/**
 * This node's own health, Lifeguard-style (Dadgar et al. 2018, "Lifeguard: Local Health
 * Awareness for More Accurate Failure Detection"): when our event loop lagged, our timers
 * fired late or our receive queue backed up, the silence we see from peers is partly our own
 * doing, so peer timeouts stretch instead of peers being declared down.
 *
 * The evidence is a lag in ms. The largest recent lag is remembered and halves every
 * HEALTH.lagHalfLifeMs; a peer timeout T becomes
 *
 *     T + min(maxExtraTimeouts x T, lagFactor x max(0, lag - healthyLagMs))
 *
 * so a healthy node (lag <= 50 ms) keeps exactly T. Pure: the caller passes `now`.
 */
export class LocalHealth {
  private peakLagMs = 0
  private peakAt = -Infinity
  /** Samples per source, for the counters. */
  readonly samples: Record<LagSource, number> = { loop: 0, timer: 0, receive: 0 }

  /**
   * A lag of `lagMs` ending at `now`: raises the remembered lag if it is larger than what is
   * left of it. True when it was more than healthy (the caller counts it).
   */
  noteLag(source: LagSource, lagMs: number, now: number): boolean {
    if (!(lagMs > HEALTH.healthyLagMs)) return false
    this.samples[source]++
    if (lagMs > this.lag(now)) {
      this.peakLagMs = lagMs
      this.peakAt = now
    }
    return true
  }

  /** The engine asked to run at `deadline` and runs at `now`: lateness beyond lateTimerMs is lag. */
  noteTick(deadline: number, now: number): boolean {
    const late = now - deadline
    return late > HEALTH.lateTimerMs && this.noteLag('timer', late, now)
  }

  /** The remembered lag at `now`, decayed. */
  lag(now: number): number {
    if (this.peakLagMs === 0) return 0
    const age = Math.max(0, now - this.peakAt)
    const lag = this.peakLagMs * 2 ** (-age / HEALTH.lagHalfLifeMs)
    return lag < 1 ? 0 : lag
  }

  /** How long a silence must last before a peer is declared down, for a plain timeout of `timeoutMs`. */
  timeout(timeoutMs: number, now: number): number {
    const excess = this.lag(now) - HEALTH.healthyLagMs
    if (excess <= 0) return timeoutMs
    return timeoutMs + Math.min(HEALTH.maxExtraTimeouts * timeoutMs, HEALTH.lagFactor * excess)
  }

  /** True while any stretch applies. */
  isDegraded(now: number): boolean {
    return this.lag(now) > HEALTH.healthyLagMs
  }
}
