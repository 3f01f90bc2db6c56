import type { DsnConfig } from '../config'
import type { PeerDownReason } from '../node/events'
import type { Counters } from './counters'
import type { Peer } from './peer'
import { Replica } from './replica'
import { ReplayWindow } from './replay-window'
import { TIMERS } from './timers'
import type { Address, EngineEvent, RandomSource } from './types'

/** What membership asks of the rest of the engine when a peer's state changes or a timer is due. */
export interface MembershipHooks {
  emit(event: EngineEvent): void
  peerUp(peer: Peer, now: number): void
  peerDown(peer: Peer): void
  /** A live peer's datagrams now come from another address. */
  peerMoved?(peer: Peer): void
  /** A quiet peer is due a probe (PING). */
  probe(peer: Peer, now: number): void
  /** A replica's NACK timer is due (receiver-side repair). */
  nackDue(peer: Peer, replica: Replica, now: number): void
  /** The peer timeout stretched by local health (local-health.ts); the plain one when absent. */
  peerTimeout?(timeoutMs: number, now: number): number
}

/** Replicas parked for peers declared down by timeout, at most: a slow peer's comes back with it. */
const MAX_PARKED = 16
/** Above this many peers, hearing the earliest deadline's holder does not rescan (see the class). */
const RESCAN_ON_HEARD_MAX_PEERS = 64

/**
 * The peer table: who we know (pinned keys, admission within bounds), who is up, and the
 * per-peer timers (NACK, probe, timeout). The earliest timer is kept as a lower bound that is
 * lowered when a timer is set earlier and recomputed when it comes due, or when the peer that
 * held it is heard (its timers move later): otherwise every heartbeat would leave a stale
 * deadline behind, and a process wake-up for nothing (about 3 a second at N = 10). A scan
 * happens only then, and after it another peer holds the earliest, so a stream of datagrams
 * from one peer scans at most once. In a large cluster the heartbeats come in deadline order,
 * so nearly every one would scan (N² a period); there the datagrams wake the process far more
 * often than a stale deadline does, and the scan is skipped above RESCAN_ON_HEARD_MAX_PEERS.
 */
export class Membership {
  readonly peers = new Map<string, Peer>()
  readonly pinned: Map<string, Uint8Array>
  private live = 0
  /** Peers holding a parked replica, oldest first. */
  private readonly parked = new Set<Peer>()
  /** No peer timer is due before this (it may be earlier than the true earliest, never later). */
  private earliest = Infinity

  constructor(
    private readonly config: DsnConfig,
    private readonly counters: Counters,
    private readonly random: RandomSource,
    private readonly hooks: MembershipHooks,
    pinned?: ReadonlyMap<string, Uint8Array>,
  ) {
    this.pinned = new Map(pinned ?? [])
  }

  get liveCount(): number {
    return this.live
  }

  livePeers(): Peer[] {
    const out: Peer[] = []
    for (const p of this.peers.values()) if (p.replica !== null) out.push(p)
    return out
  }

  /** A verified origin seen for the first time: tracked (and its key pinned) unless a bound says no. */
  admit(nodeId: string, publicKey: Uint8Array, verify: Peer['verify'], from: Address, now: number): Peer | undefined {
    const { peers, config, pinned } = this
    if (peers.size >= config.maxPeers * 2) {
      // Make room by forgetting the longest-silent peer that is already down.
      let oldest: Peer | undefined
      for (const p of peers.values()) if (!p.replica && (!oldest || p.lastHeardAt < oldest.lastHeardAt)) oldest = p
      if (!oldest) return undefined
      peers.delete(oldest.nodeId)
      this.parked.delete(oldest)
    }
    if (this.live >= config.maxPeers) return undefined
    if (!pinned.has(nodeId)) {
      // Bounded like everything fed by the network: past 4 x maxPeers ids, the oldest pin of
      // a node we no longer track is forgotten (that id is then trusted on first use again).
      if (pinned.size >= 4 * config.maxPeers) {
        for (const old of pinned.keys()) {
          if (!peers.has(old)) {
            pinned.delete(old)
            this.counters.add('pins-evicted')
            break
          }
        }
      }
      pinned.set(nodeId, publicKey)
      this.hooks.emit({ type: 'pin', nodeId, publicKey })
    }
    const peer: Peer = {
      nodeId, publicKey, verify, dhKey: null, macIn: null, macOut: null, window: new ReplayWindow(), replica: null, incarnation: 0, address: from,
      lastHeardAt: now, lastMulticastAt: -Infinity, originSeq: 0, originDigest: null, probeAt: null, lastPingedAt: -Infinity,
      parked: null, keptFor: -Infinity,
    }
    peers.set(nodeId, peer)
    return peer
  }

  /** An authentic frame of a new incarnation: a fresh replica (a restart first takes the old one down). */
  up(peer: Peer, incarnation: number, from: Address, now: number): void {
    if (peer.replica) this.down(peer, 'restart')
    const parked = peer.parked
    if (parked) {
      peer.parked = null
      this.parked.delete(peer)
    }
    if (parked && parked.incarnation === incarnation && peer.incarnation === incarnation) {
      // It was only slow (we timed it out, it never restarted): its replica is still right up
      // to where it stopped, and the gap is repaired like any loss.
      peer.replica = parked
      // Its NACK timer is from before it was parked: afterFrame() arms a fresh one.
      parked.nackAt = null
      this.counters.add('peers-revived')
    } else {
      peer.originSeq = 0
      peer.originDigest = null
      peer.replica = this.newReplica(peer.nodeId, incarnation)
    }
    peer.incarnation = incarnation
    peer.address = from
    // Heard now (heard() follows): a deadline computed from the old lastHeardAt would lie in the
    // past, and the engine would take that for its own timer firing late (local health).
    peer.lastHeardAt = now
    this.live++
    this.counters.add('peers-up')
    this.hooks.emit({ type: 'peer-up', event: { nodeId: peer.nodeId, incarnation, address: from } })
    this.lowerDeadline(this.deadlineOf(peer, now))
    this.hooks.peerUp(peer, now)
  }

  private newReplica(nodeId: string, incarnation: number): Replica {
    const { config } = this
    return new Replica(nodeId, incarnation, {
      maxKeyBytes: config.maxKeyBytes,
      maxKeysPerNode: config.maxKeysPerNode,
      maxValueBytes: config.maxValueBytes,
      maxStateBytes: config.maxStateBytes,
      maxReassemblyBytes: config.maxStateBytes + config.maxValueBytes,
    }, 16 * config.historySize + 4096)
  }

  down(peer: Peer, reason: PeerDownReason): void {
    if (!peer.replica) return
    if (reason === 'timeout') this.park(peer, peer.replica)
    peer.replica = null
    peer.probeAt = null
    this.live--
    this.counters.add(`peers-down.${reason}`)
    this.hooks.emit({ type: 'peer-down', event: { nodeId: peer.nodeId, incarnation: peer.incarnation, reason } })
    this.hooks.peerDown(peer)
  }

  /** Keeps a timed-out peer's replica for its return, bounded: the longest-parked one goes first. */
  private park(peer: Peer, replica: Replica): void {
    if (this.parked.size >= MAX_PARKED) {
      const oldest = this.parked.values().next().value as Peer
      oldest.parked = null
      this.parked.delete(oldest)
    }
    peer.parked = replica
    this.parked.add(peer)
  }

  /** An accepted frame from a current peer: it is alive, here, and not quiet any more. */
  heard(peer: Peer, from: Address, via: 'multicast' | 'unicast', now: number): void {
    const heldEarliest =
      this.peers.size <= RESCAN_ON_HEARD_MAX_PEERS &&
      peer.replica !== null &&
      this.deadlineOf(peer, now) <= this.earliest
    peer.lastHeardAt = now
    if (peer.address !== from) {
      peer.address = from
      this.hooks.peerMoved?.(peer)
    }
    if (via === 'multicast') peer.lastMulticastAt = now
    // Only pushes this peer's timers later, so the cached earliest stays a valid lower bound...
    peer.probeAt = null
    // ...but a stale one when this peer held it.
    if (heldEarliest) this.recomputeEarliest(now)
  }

  /** A replica's NACK timer was set (or moved earlier). */
  scheduleNack(replica: Replica, at: number): void {
    replica.nackAt = at
    this.lowerDeadline(at)
  }

  /** Runs every peer timer that is due; a no-op (no scan) before the earliest one. */
  tick(now: number): void {
    if (now < this.earliest) return
    // Hooks called during the scan may lower it again; the scan itself finds every other timer.
    this.earliest = Infinity
    let next = Infinity
    for (const peer of this.peers.values()) {
      if (!peer.replica) continue
      this.tickPeer(peer, now)
      next = Math.min(next, this.deadlineOf(peer, now))
    }
    this.earliest = Math.min(this.earliest, next)
  }

  nextDeadline(): number {
    return this.earliest
  }

  private recomputeEarliest(now: number): void {
    let next = Infinity
    for (const other of this.peers.values()) next = Math.min(next, this.deadlineOf(other, now))
    this.earliest = next
  }

  private lowerDeadline(at: number): void {
    if (at < this.earliest) this.earliest = at
  }

  /** Timers for one peer: NACK a gap, probe when quiet, declare down on timeout. */
  private tickPeer(peer: Peer, now: number): void {
    const replica = peer.replica as Replica
    // Compare with the same sums deadlineOf() returns, so float rounding cannot leave a
    // deadline that has passed but whose timer does not fire.
    if (now >= this.downAt(peer, now)) return this.down(peer, 'timeout')
    if (now >= peer.lastHeardAt + this.config.peerTimeoutMs && peer.keptFor !== peer.lastHeardAt) {
      // The plain timeout passed, but we were starved ourselves: suspected and probed, kept.
      peer.keptFor = peer.lastHeardAt
      this.counters.add('peers-kept.local-health')
    }
    if (replica.nackAt !== null && now >= replica.nackAt) this.hooks.nackDue(peer, replica, now)
    if (now >= this.quietAt(peer)) {
      if (peer.probeAt === null) peer.probeAt = now + this.random.next() * TIMERS.probeJitterMs
      if (now >= peer.probeAt) {
        // The same sum as the deadline it sets: `now - last < interval` can hold at now ==
        // last + interval in floating point, and the timer would come due forever (seen at N = 250).
        if (now < peer.lastPingedAt + TIMERS.probeIntervalMs) {
          peer.probeAt = peer.lastPingedAt + TIMERS.probeIntervalMs
        } else {
          this.hooks.probe(peer, now)
          peer.lastPingedAt = now
          peer.probeAt = now + TIMERS.probeIntervalMs
        }
      }
    }
  }

  private deadlineOf(peer: Peer, now: number): number {
    if (!peer.replica) return Infinity
    let next = this.downAt(peer, now)
    if (peer.replica.nackAt !== null) next = Math.min(next, peer.replica.nackAt)
    return Math.min(next, peer.probeAt ?? this.quietAt(peer))
  }

  /**
   * peerTimeoutMs of silence, stretched by local health at `now`: a node that was itself
   * starved waits longer (docs/PROTOCOL.md section 11.1). The stretch only shrinks
   * without new evidence, so a deadline computed earlier may be late, never early; a quiet
   * peer's probe timer re-evaluates it every probeIntervalMs.
   */
  private downAt(peer: Peer, now: number): number {
    return peer.lastHeardAt + (this.hooks.peerTimeout?.(this.config.peerTimeoutMs, now) ?? this.config.peerTimeoutMs)
  }

  /**
   * Silent past the plain timeout, kept only because we were starved (local health): about to be
   * declared down unless it answers a probe, so repair requests to it would be wasted. Merely
   * quiet peers are still NACKed: an answered NACK is heard like a probe's answer.
   */
  isSuspect(peer: Peer, now: number): boolean {
    return now >= peer.lastHeardAt + this.config.peerTimeoutMs
  }

  /** When a silent peer starts being probed. */
  private quietAt(peer: Peer): number {
    return peer.lastHeardAt + this.config.heartbeatIntervalMs * TIMERS.probeAfterIntervals
  }
}
