import type { Counters } from './counters'
import { PathChoice } from './path-choice'
import type { Peer } from './peer'
import { TIMERS } from './timers'
import type { Address } from './types'

/**
 * How long the group's unicast targets are reused: what they depend on over time (a peer's
 * multicast going stale, a path's hold running out) moves in heartbeat intervals, so 50 ms late
 * costs nothing, and a datagram no longer walks every peer. Changes of peers, candidates and
 * reports drop the cached answer at once.
 */
export const GROUP_TARGETS_REUSE_MS = 50

export interface PathOptions {
  heartbeatIntervalMs: number
  /** Most live peers given unicast copies by the path choice (config.maxUnicastPeers). */
  maxUnicastPeers: number
  counters: Counters
}

/**
 * Who gets a unicast copy of what we send to the group: static peers, candidates learnt by
 * mDNS or peer lists until they are heard, and live peers whose receiver reports say our
 * multicast does not reach them well (core/path-choice.ts), at most maxUnicastPeers of them.
 * With multicast off, everyone we know.
 */
export class UnicastTargets {
  /** Candidate address -> when it was learnt. */
  readonly candidates = new Map<Address, number>()
  /** Our own unicast addresses, as seen on our own looped-back datagrams. */
  readonly selfAddresses = new Set<Address>()
  readonly paths: PathChoice
  private readonly maxUnicastPeers: number
  private readonly counters: Counters
  private cached: readonly Address[] | null = null
  private cachedAt = -Infinity
  private cachedRevision = -1

  constructor(
    private readonly staticPeers: readonly Address[],
    private readonly multicast: boolean,
    /** A peer heard by multicast within this is guessed to hear ours, until its first report. */
    private readonly multicastFreshMs: number,
    private readonly maxCandidates: number,
    paths: PathOptions,
  ) {
    this.paths = new PathChoice(paths.heartbeatIntervalMs, paths.counters)
    this.maxUnicastPeers = paths.maxUnicastPeers
    this.counters = paths.counters
  }

  /** 'full' when the bound is reached: a peer list cannot make us send to unbounded addresses. */
  addCandidate(address: Address, now: number, peers: Iterable<Peer>): 'added' | 'known' | 'full' {
    if (this.selfAddresses.has(address) || this.candidates.has(address)) return 'known'
    for (const p of peers) if (p.replica && p.address === address) return 'known'
    if (this.candidates.size >= this.maxCandidates) return 'full'
    this.candidates.set(address, now)
    this.peersChanged()
    return 'added'
  }

  /** A datagram came from this address: it is a peer now, no longer a candidate. */
  heard(address: Address): void {
    // Every datagram comes here; candidates are few and short-lived, mostly none.
    if (this.candidates.size > 0 && this.candidates.delete(address)) this.peersChanged()
  }

  /** One of our own recent datagrams came back from this address. */
  noteOwn(address: Address): void {
    if (this.selfAddresses.size >= 8 || this.selfAddresses.has(address)) return
    this.selfAddresses.add(address)
    this.candidates.delete(address)
    this.peersChanged()
  }

  expire(now: number): void {
    for (const [address, at] of this.candidates) {
      if (now - at > TIMERS.candidateTtlMs && this.candidates.delete(address)) this.peersChanged()
    }
  }

  /** A peer came up, went down or moved, or the candidates changed: recompute at the next send. */
  peersChanged(): void {
    this.cached = null
  }

  /**
   * `extra`: a stranger we answer, or the origin we NACK: it gets a copy unless multicast alone
   * reaches it. `probe`: PINGs and their answers always go to `extra` by unicast as well: they
   * are how a peer whose datagrams stopped arriving is found again, and the stopped datagrams may
   * be exactly our multicast.
   */
  forGroup(now: number, peers: Iterable<Peer>, extra?: Address, probe = false): readonly Address[] {
    const plain = extra === undefined && !probe
    if (plain && this.cached && now - this.cachedAt < GROUP_TARGETS_REUSE_MS && now >= this.cachedAt && this.cachedRevision === this.paths.revision) return this.cached
    const targets = new Set<Address>([...this.staticPeers, ...this.candidates.keys()])
    let extraPeer: Peer | undefined
    let wanting: Peer[] | undefined
    let live = 0
    for (const peer of peers) {
      if (peer.address === extra) extraPeer = peer
      if (!peer.replica) continue
      live++
      if (!this.multicast) {
        targets.add(peer.address)
        continue
      }
      this.paths.track(peer.nodeId, peer.incarnation, this.heardByMulticast(peer, now), now)
      if (this.paths.needsUnicast(peer.nodeId, now)) (wanting ??= []).push(peer)
      else targets.delete(peer.address)
    }
    if (this.paths.size > live) this.retainLive(peers)
    if (wanting) for (const peer of this.bounded(wanting)) targets.add(peer.address)
    const reached = !probe && extraPeer?.replica && this.heardByMulticast(extraPeer, now) && !this.paths.needsUnicast(extraPeer.nodeId, now)
    if (extra && (!this.multicast || !reached)) targets.add(extra)
    const answer = [...targets]
    if (plain) {
      this.cached = answer
      this.cachedAt = now
      this.cachedRevision = this.paths.revision
    }
    return answer
  }

  /** At most maxUnicastPeers, those hearing least of our multicast first: where unicast helps most. */
  private bounded(wanting: Peer[]): Peer[] {
    if (wanting.length <= this.maxUnicastPeers) return wanting
    this.counters.add('unicast-fanout-capped', wanting.length - this.maxUnicastPeers)
    const heard = (p: Peer) => this.paths.outRatio(p.nodeId) ?? 0
    return [...wanting].sort((a, b) => heard(a) - heard(b) || (a.nodeId < b.nodeId ? -1 : 1)).slice(0, this.maxUnicastPeers)
  }

  private retainLive(peers: Iterable<Peer>): void {
    const live = new Set<string>()
    for (const p of peers) if (p.replica) live.add(p.nodeId)
    this.paths.retain((id) => live.has(id))
  }

  private heardByMulticast(peer: Peer, now: number): boolean {
    return now - peer.lastMulticastAt <= this.multicastFreshMs
  }
}
