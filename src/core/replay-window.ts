/**
 * Rejects a datagram seen before, per origin incarnation, by its packet number: a sliding
 * window like IPsec's. Packets more than WINDOW behind the highest are refused too, so the
 * sets stay bounded however long a node runs.
 *
 * Only signed packets move the window. An unsigned packet (heartbeat, NACK, PING) is
 * authenticated by the network key alone, so any member could forge one: it is accepted only
 * within UNSIGNED_LEAD of the origin's last signed packet, and only remembered, never allowed
 * to push the window forward and lock the real origin out. Senders sign at least every
 * SIGN_AT_LEAST_EVERY packets to stay within that lead.
 */
const WINDOW = 1024
export const UNSIGNED_LEAD = 64
export const SIGN_AT_LEAST_EVERY = 32

export type ReplayVerdict = 'fresh' | 'replay' | 'old-incarnation' | 'unsigned-ahead'

export class ReplayWindow {
  private incarnation = 0
  private highest = 0
  private seen = new Set<number>()
  private unsignedSeen = new Set<number>()

  check(incarnation: number, packet: number, signed: boolean): ReplayVerdict {
    if (incarnation < this.incarnation) return 'old-incarnation'
    if (incarnation > this.incarnation) return signed ? 'fresh' : 'unsigned-ahead'
    if (packet + WINDOW <= this.highest || this.seen.has(packet) || this.unsignedSeen.has(packet)) return 'replay'
    if (!signed && packet > this.highest + UNSIGNED_LEAD) return 'unsigned-ahead'
    return 'fresh'
  }

  /** Of the incarnation we follow and near its packets: worth counting before any proof. */
  plausible(incarnation: number, packet: number): boolean {
    return incarnation === this.incarnation && packet <= this.highest + UNSIGNED_LEAD && packet + WINDOW > this.highest
  }

  /** Records a packet once it was authenticated; call only after `check` said fresh. */
  accept(incarnation: number, packet: number, signed: boolean): void {
    if (!signed) {
      this.unsignedSeen.add(packet)
      return
    }
    if (incarnation > this.incarnation) {
      this.incarnation = incarnation
      this.highest = 0
      this.seen = new Set()
      this.unsignedSeen = new Set()
    }
    this.seen.add(packet)
    if (packet > this.highest) this.highest = packet
    if (this.seen.size + this.unsignedSeen.size > 2 * WINDOW) {
      for (const p of this.seen) if (p + WINDOW <= this.highest) this.seen.delete(p)
      for (const p of this.unsignedSeen) if (p + WINDOW <= this.highest) this.unsignedSeen.delete(p)
    }
  }
}
