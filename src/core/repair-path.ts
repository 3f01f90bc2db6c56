import { HEALTH } from './timers'
import type { LocalHealth } from './local-health'

/**
 * Where repair goes: to the group (SRM/NORM: one NACK serves every receiver that lost the same
 * datagram, one resend repairs them all) or point to point (a NACK to the origin alone, the
 * resend to the requester alone). docs/PROTOCOL.md section 9 (point-to-point repair) states the rule.
 *
 * Group repair pays off when receivers share their losses (a datagram lost on the wire before
 * it was copied to everyone). When a receiver lost datagrams because its own process was
 * starved (its receive queue overflowed: kernel drops, a lagging loop), nobody else lost them:
 * a group NACK then costs every other receiver a datagram to read for nothing, and so does the
 * group resend. Past saturation (N = 30 on 2 cores) that traffic was itself what kept the queues
 * overflowing: ~870 replicas each NACKing once a second, every NACK and resend read by 29
 * processes, long after the writes had stopped. Point-to-point repair costs one reception per
 * loss instead of N - 1, so repair can no longer grow the overload that caused it.
 *
 * Pure: the caller passes `now`.
 */
export class RepairPath {
  private localLossAt = -Infinity

  constructor(private readonly health: LocalHealth) {}

  /** The kernel dropped datagrams for our socket (full receive buffer): our losses are our own. */
  noteLocalLoss(now: number): void {
    this.localLossAt = now
  }

  /** True when our NACKs should go to the origin alone: we lag, or the kernel dropped our datagrams lately. */
  nackDirect(now: number): boolean {
    return this.health.isDegraded(now) || now - this.localLossAt < HEALTH.localLossMemoryMs
  }
}
