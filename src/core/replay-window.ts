/**
 * Rejects a datagram seen before, per origin incarnation, by its packet number: a sliding
 * window like IPsec's. Packets more than WINDOW behind the highest are refused too, so the
 * set stays bounded however long a node runs.
 */
const WINDOW = 1024

export type ReplayVerdict = 'fresh' | 'replay' | 'old-incarnation'

export class ReplayWindow {
  private incarnation = 0
  private highest = 0
  private seen = new Set<number>()

  check(incarnation: number, packet: number): ReplayVerdict {
    if (incarnation < this.incarnation) return 'old-incarnation'
    if (incarnation > this.incarnation) return 'fresh'
    if (packet + WINDOW <= this.highest || this.seen.has(packet)) return 'replay'
    return 'fresh'
  }

  /** Records a packet once it was authenticated; call only after `check` said fresh. */
  accept(incarnation: number, packet: number): void {
    if (incarnation > this.incarnation) {
      this.incarnation = incarnation
      this.highest = 0
      this.seen = new Set()
    }
    this.seen.add(packet)
    if (packet > this.highest) this.highest = packet
    if (this.seen.size > 2 * WINDOW) {
      for (const p of this.seen) if (p + WINDOW <= this.highest) this.seen.delete(p)
    }
  }
}
