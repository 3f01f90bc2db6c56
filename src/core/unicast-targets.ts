import type { Peer } from './peer'
import { TIMERS } from './timers'
import type { Address } from './types'

/**
 * Who gets a unicast copy of what we send to the group: static peers, candidates learnt by
 * mDNS or peer lists until they are heard, and live peers not heard by multicast lately (their
 * multicast is blocked). With multicast off, everyone we know.
 */
export class UnicastTargets {
  /** Candidate address -> when it was learnt. */
  readonly candidates = new Map<Address, number>()
  /** Our own unicast addresses, as seen on our own looped-back datagrams. */
  readonly selfAddresses = new Set<Address>()

  constructor(
    private readonly staticPeers: readonly Address[],
    private readonly multicast: boolean,
    /** A peer heard by multicast within this is not sent unicast copies. */
    private readonly multicastFreshMs: number,
    private readonly maxCandidates: number,
  ) {}

  /** 'full' when the bound is reached: a peer list cannot make us send to unbounded addresses. */
  addCandidate(address: Address, now: number, peers: Iterable<Peer>): 'added' | 'known' | 'full' {
    if (this.selfAddresses.has(address) || this.candidates.has(address)) return 'known'
    for (const p of peers) if (p.replica && p.address === address) return 'known'
    if (this.candidates.size >= this.maxCandidates) return 'full'
    this.candidates.set(address, now)
    return 'added'
  }

  /** A datagram came from this address: it is a peer now, no longer a candidate. */
  heard(address: Address): void {
    this.candidates.delete(address)
  }

  /** One of our own recent datagrams came back from this address. */
  noteOwn(address: Address): void {
    if (this.selfAddresses.size >= 8) return
    this.selfAddresses.add(address)
    this.candidates.delete(address)
  }

  expire(now: number): void {
    for (const [address, at] of this.candidates) if (now - at > TIMERS.candidateTtlMs) this.candidates.delete(address)
  }

  forGroup(now: number, peers: Iterable<Peer>, extra?: Address): Address[] {
    const targets = new Set<Address>([...this.staticPeers, ...this.candidates.keys()])
    let extraPeer: Peer | undefined
    for (const peer of peers) {
      if (peer.address === extra) extraPeer = peer
      if (!peer.replica) continue
      if (!this.multicast || !this.heardByMulticast(peer, now)) targets.add(peer.address)
      else targets.delete(peer.address)
    }
    // `extra` (a stranger we answer, a peer we probe) gets a copy unless multicast reaches it.
    if (extra && (!this.multicast || !extraPeer || !this.heardByMulticast(extraPeer, now))) targets.add(extra)
    return [...targets]
  }

  private heardByMulticast(peer: Peer, now: number): boolean {
    return now - peer.lastMulticastAt <= this.multicastFreshMs
  }
}
