import type { Counters } from './counters'
import type { ReportReading } from '../wire/receiver-report'
import { reportWindows } from './receiver-report'

/**
 * Per-peer path choice (docs/PROTOCOL.md 13.2-13.3): does this peer also need unicast copies of
 * what we send to the group? Fed by the peer's receiver reports (how much of our multicast it
 * hears); pure, on an injected clock. Adding unicast is immediate, since it only adds copies; going
 * back to multicast alone waits for a steady good report and a hold time that doubles while a
 * peer keeps flapping, so a path never changes faster than the hold.
 */
export const PATH = {
  /** A peer hearing less than this of our multicast gets unicast copies too (RFC 9119 Wi-Fi:
   * multicast loss of a few % is normal, 10% costs a NACK round trip on one write in ten). */
  addUnicastBelow: 0.9,
  /** ...and goes back to multicast alone once it hears at least this much (hysteresis). */
  multicastOnlyAtOrAbove: 0.97,
  /** Below this the peer is shown as reached by unicast (multicast reaches it barely or not at all). */
  unicastOnlyBelow: 0.1,
  /** Multicast alone again only after the report was good for this long and the path has not
   * changed for this long. Doubles each time the peer needs unicast again soon after, up to holdMaxMs. */
  holdMs: 5_000,
  holdMaxMs: 80_000,
  /** A return to unicast within this many holds of going back to multicast counts as a flap. */
  flapWithinHolds: 4,
  /** A new peer not listing us within this many intervals (it should, in its next heartbeat
   * after meeting us) is taken not to hear us: unicast too. Times the report windows past
   * REPORT_MAX_ENTRIES peers, since a report then lists only one window of them. */
  firstReportIntervals: 2.5,
  /** Reports come on change and list us at least every 8th heartbeat (core/receiver-report.ts); with
   * none for this many intervals we cannot tell: unicast too. (A peer whose heartbeats stop is
   * probed by unicast long before, and the answer carries a report.) Past 8 report windows
   * (512 peers) a listing takes one heartbeat per window: then 2 intervals per window. */
  reportStaleIntervals: 10,
  /** A new peer's report may leave us out until it heard our introduction and sent a heartbeat. */
  reportGraceIntervals: 1.5,
} as const

export type PathKind = 'multicast' | 'unicast' | 'both'

/** What `dsn peers` and `status` show for one peer. */
export interface PeerPathView {
  path: PathKind
  /** Fraction of our multicast the peer says it hears; null before its first report. */
  outRatio: number | null
  /** Fraction of its multicast we hear; filled in by the caller (MulticastReception). */
  inRatio: number | null
  /** When the path last changed (engine clock, ms). */
  changedAt: number
  holdMs: number
}

interface PeerPath {
  incarnation: number
  upAt: number
  /** Unicast copies are sent to it. */
  unicast: boolean
  changedAt: number
  holdMs: number
  lastDropAt: number
  outRatio: number | null
  /** Last report (listed or absent) and since when the reports have been good. */
  reportAt: number
  goodSince: number | null
  absent: boolean
  /** Until its first report: whether we heard it by multicast (the old symmetric guess). */
  guessMulticast: boolean
  /** The path is still the guess: the first good report ends it at once, with no hold. */
  guessed: boolean
}

export class PathChoice {
  private readonly peers = new Map<string, PeerPath>()
  /** When a peer last reported losing some of our multicast (below 0.97, or not hearing us). */
  lossReportedAt = -Infinity
  /** Bumped by every report: UnicastTargets keeps its answer while this stays the same. */
  revision = 0

  constructor(
    private readonly heartbeatIntervalMs: number,
    private readonly counters: Counters,
  ) {}

  /** Called for every live peer when we send; creates the state of a new peer or incarnation. */
  track(nodeId: string, incarnation: number, heardByMulticast: boolean, now: number): void {
    const p = this.peers.get(nodeId)
    if (p && p.incarnation === incarnation) {
      if (p.reportAt === -Infinity) p.guessMulticast = heardByMulticast
      return
    }
    this.peers.set(nodeId, {
      incarnation, upAt: now, unicast: !heardByMulticast, changedAt: now, holdMs: PATH.holdMs, lastDropAt: -Infinity,
      outRatio: null, reportAt: -Infinity, goodSince: null, absent: false, guessMulticast: heardByMulticast, guessed: true,
    })
  }

  get size(): number {
    return this.peers.size
  }

  outRatio(nodeId: string): number | null {
    return this.peers.get(nodeId)?.outRatio ?? null
  }

  /** Forget peers that are not live any more (bounded by the live peers). */
  retain(live: (nodeId: string) => boolean): void {
    for (const id of this.peers.keys()) if (!live(id)) this.peers.delete(id)
  }

  /**
   * A heartbeat of the peer with its receiver report, read for us. It may come before we sent
   * anything since the peer came up: its state starts here then (the guess is corrected by
   * `track` at our next send).
   */
  report(nodeId: string, incarnation: number, reading: ReportReading, now: number): void {
    this.revision++
    if (this.peers.get(nodeId)?.incarnation !== incarnation) this.track(nodeId, incarnation, true, now)
    const p = this.peers.get(nodeId)
    if (!p || reading.kind === 'unknown') return
    if (reading.kind === 'absent') {
      // Left out of a complete report: it has not heard us (yet). Grace for a new peer.
      if (now - p.upAt < PATH.reportGraceIntervals * this.heartbeatIntervalMs) return
      p.reportAt = now
      this.lossReportedAt = now
      p.absent = true
      p.outRatio = 0
      p.goodSince = null
      return
    }
    p.reportAt = now
    p.absent = false
    p.outRatio = reading.ratio
    if (reading.ratio < PATH.multicastOnlyAtOrAbove) this.lossReportedAt = now
    if (reading.ratio >= PATH.multicastOnlyAtOrAbove) p.goodSince ??= now
    else p.goodSince = null
  }

  /** Whether the peer gets unicast copies now; updates (and counts) its path. */
  needsUnicast(nodeId: string, now: number): boolean {
    const p = this.peers.get(nodeId)
    if (!p) return true
    const want = this.wanted(p, now)
    if (p.reportAt !== -Infinity) p.guessed = false
    if (want !== p.unicast) {
      if (want) {
        // A quick return to unicast after going back to multicast is a flap: hold longer next time.
        p.holdMs = now - p.lastDropAt < PATH.flapWithinHolds * p.holdMs ? Math.min(2 * p.holdMs, PATH.holdMaxMs) : PATH.holdMs
        this.counters.add('path-changes.unicast-added')
      } else {
        p.lastDropAt = now
        this.counters.add('path-changes.multicast-only')
      }
      p.unicast = want
      p.changedAt = now
    }
    return p.unicast
  }

  /** The peer's path as of `now`, evaluated as a send would (so `dsn status` never shows a stale one). */
  view(nodeId: string, multicastEnabled: boolean, now: number): PeerPathView | undefined {
    const p = this.peers.get(nodeId)
    if (!p) return undefined
    const unicast = this.needsUnicast(nodeId, now)
    const barely = p.outRatio !== null && p.outRatio < PATH.unicastOnlyBelow
    const path: PathKind = !multicastEnabled ? 'unicast' : !unicast ? 'multicast' : barely ? 'unicast' : 'both'
    return { path, outRatio: p.outRatio, inRatio: null, changedAt: p.changedAt, holdMs: p.holdMs }
  }

  private wanted(p: PeerPath, now: number): boolean {
    // Past REPORT_MAX_ENTRIES peers a report lists one window of them: a listing takes longer.
    const windows = reportWindows(this.peers.size)
    const stale = now - p.reportAt > Math.max(PATH.reportStaleIntervals, 2 * windows) * this.heartbeatIntervalMs
    if (p.reportAt === -Infinity) {
      // No report yet: until the grace is over, guess from what we hear; then it is stale.
      if (now - p.upAt < PATH.firstReportIntervals * windows * this.heartbeatIntervalMs) return p.unicast || !p.guessMulticast
      return true
    }
    if (stale || p.absent || p.outRatio === null || p.outRatio < PATH.addUnicastBelow) return true
    if (!p.unicast) return false
    if (p.guessed) return p.outRatio < PATH.multicastOnlyAtOrAbove
    // Back to multicast alone: steadily good for the hold, and the path unchanged for as long.
    const steady = p.goodSince !== null && now - p.goodSince >= p.holdMs
    return !(steady && now - p.changedAt >= p.holdMs)
  }
}
