import type { HeartbeatFrame } from '../wire/frame'
import { readReport } from '../wire/receiver-report'
import type { PathChoice, PeerPathView } from './path-choice'
import { ReceptionTable } from './receiver-report'

/**
 * The engine's one handle on per-peer reachability (docs/PROTOCOL.md 13.2-13.3): counts what we send
 * to the group, measures what reaches us by multicast, writes our receiver report and reads
 * the peers' reports into the path choice. A few calls from the send and receive paths.
 */
export class Reachability {
  /** Datagrams this incarnation sent by unicast only: the others went to the group, and are the
   * denominator of the peers' measurements. */
  unicastOnlySent = 0
  readonly reception: ReceptionTable

  constructor(
    private readonly self: string,
    private readonly multicastEnabled: boolean,
    heartbeatIntervalMs: number,
    readonly paths: PathChoice,
  ) {
    this.reception = new ReceptionTable(heartbeatIntervalMs)
  }

  /** A datagram was sealed: to the group (and maybe unicast copies), or by unicast only. */
  sent(multicast: boolean): void {
    if (!multicast) this.unicastOnlySent++
  }

  /** An AEAD-authenticated datagram of a tracked peer arrived by multicast (a duplicate too: counted once). */
  heardMulticast(origin: string, incarnation: number, packet: number): void {
    this.reception.of(origin).noteMulticast(incarnation, packet)
  }

  /** An accepted heartbeat of a live peer: one more sample of its multicast, and its report on ours. */
  heartbeat(frame: HeartbeatFrame, now: number): void {
    this.reception.of(frame.origin).noteHeartbeat(frame.incarnation, frame.packet, frame.packet - frame.unicastOnly, now)
    this.paths.report(frame.origin, frame.incarnation, readReport(frame.report, this.self), now)
  }

  /** The fields our next heartbeat carries; `force` (signed heartbeats) always includes the report. */
  heartbeatFields(live: readonly string[], now: number, force: boolean): { unicastOnly: number; report: Uint8Array } {
    return { unicastOnly: this.unicastOnlySent, report: this.reception.report(live, now, force) }
  }

  view(nodeId: string, now: number): PeerPathView | undefined {
    const view = this.paths.view(nodeId, this.multicastEnabled, now)
    if (view) view.inRatio = this.reception.ratio(nodeId, now)
    return view
  }
}
