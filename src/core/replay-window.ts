/**
 * Rejects a datagram seen before, per origin incarnation, by its packet number: a sliding
 * window like IPsec's. Packets more than WINDOW behind the highest are refused too, so what
 * it remembers stays bounded however long a node runs.
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

/**
 * Bits per ring, one per packet number modulo it: at least WINDOW behind the highest plus
 * UNSIGNED_LEAD ahead of it, so no two numbers the window can still ask about share a bit.
 */
const RING_BITS = 2048
const RING_WORDS = RING_BITS / 32

/**
 * The window is two bitmaps (IPsec's, RFC 4303 section 3.4.3, kept as rings as in RFC 6479):
 * 256 bytes per peer whatever the rate, and a check or an accept touches one word of each, where
 * a Set of up to 2,048 numbers hashed every datagram, spread over ~40 KB, and was swept now and
 * then to stay bounded.
 */
export class ReplayWindow {
  private incarnation = 0
  private highest = 0
  /** Signed packets accepted, within (highest - RING_BITS, highest]. */
  private readonly seen = new Uint32Array(RING_WORDS)
  /** Unsigned packets accepted, within (highest + UNSIGNED_LEAD - RING_BITS, highest + UNSIGNED_LEAD]. */
  private readonly unsignedSeen = new Uint32Array(RING_WORDS)

  check(incarnation: number, packet: number, signed: boolean): ReplayVerdict {
    if (incarnation < this.incarnation) return 'old-incarnation'
    if (incarnation > this.incarnation) return signed ? 'fresh' : 'unsigned-ahead'
    if (packet + WINDOW <= this.highest) return 'replay'
    // A number above the highest was never accepted signed; one beyond the lead never unsigned.
    if (packet <= this.highest && bit(this.seen, packet)) return 'replay'
    if (packet <= this.highest + UNSIGNED_LEAD && bit(this.unsignedSeen, packet)) return 'replay'
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
      setBit(this.unsignedSeen, packet)
      return
    }
    if (incarnation > this.incarnation) {
      this.incarnation = incarnation
      this.highest = 0
      this.seen.fill(0)
      this.unsignedSeen.fill(0)
    }
    if (packet > this.highest) {
      // The numbers the rings now cover anew had bits for numbers RING_BITS below them: clear them.
      clearRange(this.seen, this.highest, packet)
      clearRange(this.unsignedSeen, this.highest + UNSIGNED_LEAD, packet + UNSIGNED_LEAD)
      this.highest = packet
    }
    setBit(this.seen, packet)
  }
}

function bit(ring: Uint32Array, n: number): boolean {
  return (ring[(n >>> 5) & (RING_WORDS - 1)] & (1 << (n & 31))) !== 0
}

function setBit(ring: Uint32Array, n: number): void {
  ring[(n >>> 5) & (RING_WORDS - 1)] |= 1 << (n & 31)
}

/** Clears the bits of (from, to]; all of them when that spans the whole ring. */
function clearRange(ring: Uint32Array, from: number, to: number): void {
  if (to - from >= RING_BITS) {
    ring.fill(0)
    return
  }
  for (let n = from + 1; n <= to; n++) ring[(n >>> 5) & (RING_WORDS - 1)] &= ~(1 << (n & 31))
}
