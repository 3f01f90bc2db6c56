import { encodeReport, NO_REPORT, REPORT_MAX_ENTRIES } from '../wire/receiver-report'

/**
 * How much of each origin's multicast reaches us, and the compact receiver report that tells
 * every origin (in our heartbeats) how much of *its* multicast we hear (docs/PROTOCOL.md 13.2-13.3).
 *
 * Every heartbeat tells how many of the origin's datagrams so far went to the group
 * (`packet - unicastOnly`, `mcastSent` below); the receiver counts the ones that arrived by multicast (a unicast
 * copy does not count). Between two heartbeats the ratio of the two differences is the
 * fraction of its multicast we heard. Heartbeats arrive by whichever path works, so the
 * measurement goes on when multicast is dead: exactly the case it is there to detect.
 */
export const RECEPTION = {
  /** The ratio is taken over the last this-many heartbeats of the origin (~8 s at 1 s). Long
   * enough to weigh 25% loss on an idle node (7+ datagrams), short enough to see recovery. */
  windowSamples: 8,
  /** No heartbeat of the origin for this many heartbeat intervals: the ratio is unknown (and
   * reported as 0: we do not hear it, by any path, which the origin must act on). */
  staleIntervals: 1.5,
  /** A report goes in a heartbeat when what it would say changed (a peer came or went, or a
   * ratio crossed one of the path thresholds), when asked for (signed heartbeats: introductions
   * and PING answers), and at least every this-many heartbeats. A 10-node report is 28 bytes:
   * sent every second it would cost more idle traffic than everything else in a heartbeat.
   * Past REPORT_MAX_ENTRIES peers a report lists one window of them, so reports come that many
   * times more often (every heartbeat past 8 windows): every peer is still listed at least
   * every this-many heartbeats, within its origin's staleness bound (core/path-choice.ts). */
  refreshHeartbeats: 8,
} as const

/** How many reports it takes to list `peers` live peers once (one window of REPORT_MAX_ENTRIES each). */
export function reportWindows(peers: number): number {
  return Math.max(1, Math.ceil(peers / REPORT_MAX_ENTRIES))
}

/** A ratio's class: a report is due when one crosses a path threshold (core/path-choice.ts). */
function ratioClass(ratio: number | null): number {
  if (ratio === null) return 0
  return ratio < 0.1 ? 1 : ratio < 0.9 ? 2 : ratio < 0.97 ? 3 : 4
}

/** Multicast reception of one origin's current incarnation. */
export class MulticastReception {
  private incarnation = -1
  private received = 0
  /** Highest packet number counted, and a bitmap of the 32 below it: a duplicate counts once. */
  private highest = 0
  private seenBelow = 0
  private readonly samples: Array<{ sent: number; received: number }> = []
  /** When the last heartbeat (any path) came: a stale ratio is no ratio. */
  lastSampleAt = -Infinity

  /** A datagram of the origin arrived by multicast (authenticated by the AEAD, before replay checks). */
  noteMulticast(incarnation: number, packet: number): void {
    if (incarnation !== this.incarnation) {
      if (incarnation < this.incarnation) return
      this.reset(incarnation)
    }
    if (this.has(packet)) return
    if (packet > this.highest) {
      const shift = packet - this.highest
      this.seenBelow = shift >= 32 ? 0 : ((this.seenBelow << shift) | (this.highest > 0 ? 1 << (shift - 1) : 0)) >>> 0
      this.highest = packet
    } else {
      const back = this.highest - packet
      if (back > 32) return // too old to tell from a duplicate: not counted
      this.seenBelow = (this.seenBelow | (1 << (back - 1))) >>> 0
    }
    this.received++
  }

  /** A heartbeat of the origin (by any path): `mcastSent` counts its group datagrams, this one included. */
  noteHeartbeat(incarnation: number, packet: number, mcastSent: number, now: number): void {
    mcastSent = Math.max(0, mcastSent)
    if (incarnation !== this.incarnation) {
      if (incarnation < this.incarnation) return
      this.reset(incarnation)
    }
    const last = this.samples[this.samples.length - 1]
    if (last && mcastSent < last.sent) return
    if (!last) {
      // A baseline just before this heartbeat, so one heartbeat already gives a (rough) ratio.
      const here = this.has(packet) ? 1 : 0
      this.samples.push({ sent: Math.max(0, mcastSent - 1), received: Math.max(0, this.received - here) })
    }
    this.samples.push({ sent: mcastSent, received: this.received })
    while (this.samples.length > RECEPTION.windowSamples + 1) this.samples.shift()
    this.lastSampleAt = now
  }

  /** Fraction (0..1) of the origin's multicast heard in the window; null when unknown or stale. */
  ratio(now: number, heartbeatIntervalMs: number): number | null {
    if (now - this.lastSampleAt > RECEPTION.staleIntervals * heartbeatIntervalMs) return null
    const first = this.samples[0], last = this.samples[this.samples.length - 1]
    if (!first || !last || last.sent <= first.sent) return null
    return Math.min(1, (last.received - first.received) / (last.sent - first.sent))
  }

  private has(packet: number): boolean {
    if (packet === this.highest) return packet > 0
    if (packet > this.highest) return false
    const back = this.highest - packet
    return back <= 32 && (this.seenBelow & (1 << (back - 1))) !== 0
  }

  private reset(incarnation: number): void {
    this.incarnation = incarnation
    this.received = 0
    this.highest = 0
    this.seenBelow = 0
    this.samples.length = 0
    this.lastSampleAt = -Infinity
  }
}

/** Multicast reception of every peer, and our report about them. Bounded by the tracked peers. */
export class ReceptionTable {
  private readonly byOrigin = new Map<string, MulticastReception>()
  private offset = 0
  /** What the last report said, by class: a new report is due when this changes. */
  private lastSent = new Map<string, number>()
  private sinceReport = Infinity

  constructor(private readonly heartbeatIntervalMs: number) {}

  of(nodeId: string): MulticastReception {
    let r = this.byOrigin.get(nodeId)
    if (!r) {
      r = new MulticastReception()
      this.byOrigin.set(nodeId, r)
    }
    return r
  }

  ratio(nodeId: string, now: number): number | null {
    return this.byOrigin.get(nodeId)?.ratio(now, this.heartbeatIntervalMs) ?? null
  }

  /**
   * The report for our next heartbeat (every live peer, or a rotating window of
   * REPORT_MAX_ENTRIES), or NO_REPORT when it would say nothing new (see RECEPTION.refreshHeartbeats).
   */
  report(live: readonly string[], now: number, force: boolean): Uint8Array {
    const alive = new Set(live)
    for (const id of this.byOrigin.keys()) if (!alive.has(id)) this.byOrigin.delete(id)
    const entries = live.map((nodeId) => ({ nodeId, ratio: this.ratio(nodeId, now) }))
    const classes = new Map(entries.map((e) => [e.nodeId, ratioClass(e.ratio)]))
    let changed = classes.size !== this.lastSent.size
    for (const [id, c] of classes) if (this.lastSent.get(id) !== c) changed = true
    this.sinceReport++
    const refresh = Math.max(1, Math.floor(RECEPTION.refreshHeartbeats / reportWindows(entries.length)))
    if (!changed && !force && this.sinceReport < refresh) return NO_REPORT
    this.lastSent = classes
    this.sinceReport = 0
    if (entries.length > REPORT_MAX_ENTRIES) this.offset = (this.offset + REPORT_MAX_ENTRIES) % entries.length
    else this.offset = 0
    return encodeReport(entries, this.offset)
  }
}
