import type { DsnConfig } from '../config'
import { hasOurMac } from '../seal/pair-keys'
import { verifierFor } from '../seal/signer'
import { MessageType } from '../wire/constants'
import type { Frame } from '../wire/frame'
import type { Counter, Counters } from './counters'
import type { DirectMessages } from './direct-messages'
import type { GapRepair } from './gap-repair'
import type { Membership } from './membership'
import type { OriginRepair } from './origin-repair'
import type { Peer } from './peer'
import type { Reachability } from './reachability'
import type { Replica } from './replica'
import type { Sealer } from './sealer'
import type { Sender } from './sender'
import { TIMERS } from './timers'
import type { UnicastTargets } from './unicast-targets'
import type { Address, EngineEvent } from './types'

/** The parts of the engine the receive path uses, and nothing else. */
export interface InboundParts {
  readonly config: DsnConfig
  readonly counters: Counters
  readonly incarnation: number
  readonly sealer: Sealer
  readonly unicast: UnicastTargets
  readonly membership: Membership
  readonly sender: Sender
  readonly gapRepair: GapRepair
  readonly originRepair: OriginRepair
  readonly messages: DirectMessages
  readonly reach: Reachability
  emit(event: EngineEvent): void
  addCandidate(address: Address, now: number): void
  /** A PING for us: a signed heartbeat goes out (rate-limited); `pinger`: to that PING's sender alone. */
  answerPing(from: Address, now: number, pinger?: string): void
}

/**
 * The receive path: authenticate (AEAD, then signature or a known peer), refuse replays,
 * admit peers, and hand each frame to the part of the engine it concerns: membership, the
 * replica and its gap repair, the origin's repair, direct messages.
 */
export class Inbound {
  private readonly introductionAskedAt = new Map<string, number>()
  private readonly datagramsReceived: Counter
  private readonly bytesReceived: Counter

  constructor(private readonly engine: InboundParts) {
    this.datagramsReceived = engine.counters.counter('datagrams-received')
    this.bytesReceived = engine.counters.counter('bytes-received')
  }

  receive(datagram: Uint8Array, from: Address, via: 'multicast' | 'unicast', now: number): void {
    const { counters, config } = this.engine
    this.datagramsReceived.n++
    this.bytesReceived.n += datagram.length
    if (datagram.length > config.mtu + 512) return counters.drop('oversized')
    // Our own multicast, looped back, is known by the salt in its clear nonce before any
    // decryption, once its source address is known to be ours (a relay's address is not enough:
    // others' datagrams come from it too, and they never carry our salt).
    if (this.engine.sealer.isOwnSalt(datagram) && this.engine.unicast.selfAddresses.has(from)) return counters.add('own-datagrams')
    const opened = this.engine.sealer.unseal(datagram)
    if (!opened.ok) return counters.drop(opened.reason)
    const { frame } = opened
    if (frame.origin === config.nodeId) {
      // Only a recent packet of ours (not a replayed capture from anywhere) names our address.
      const recent = this.engine.sealer.lastPacket - frame.packet < 64 && frame.incarnation === this.engine.incarnation
      if (recent) this.engine.unicast.noteOwn(from)
      return counters.add('own-datagrams')
    }

    let peer = this.engine.membership.peers.get(frame.origin)
    // Authentic: proven to come from the origin (its signature, or its MAC for us).
    let authentic = false
    if (opened.signed) {
      const announced = frame.type === MessageType.Heartbeat ? frame.publicKey : null
      const known = peer?.publicKey ?? this.engine.membership.pinned.get(frame.origin) ?? null
      if (known && announced && Buffer.compare(known, announced) !== 0) return counters.drop('key-mismatch')
      const key = known ?? announced
      if (!key) {
        this.askIntroduction(frame.origin, from, now)
        return counters.drop('unknown-origin')
      }
      if (config.allowedKeys.length > 0 && !config.allowedKeys.includes(Buffer.from(key).toString('hex'))) {
        return counters.drop('not-allowed')
      }
      const verify = peer?.verify ?? verifierFor(key)
      if (!this.engine.sealer.verify(verify, opened.frameBytes, opened.signature as Uint8Array)) return counters.drop('bad-signature')
      if (!peer) {
        peer = this.engine.membership.admit(frame.origin, key, verify, from, now)
        if (!peer) return counters.drop('too-many-peers')
      }
      if (frame.type === MessageType.Heartbeat && frame.dhKey) this.keyPeer(peer, frame.dhKey)
      authentic = true
    } else if (opened.macs) {
      if (peer?.macIn) {
        authentic = hasOurMac(peer.macIn, opened.frameBytes, opened.macs)
        // The origin has not keyed us yet, or the MACs are forged: either way, unproven.
        if (!authentic) counters.add('macs-not-for-us')
      } else {
        // We lack its X25519 key (or the origin itself): its signed heartbeat carries it.
        this.askIntroduction(frame.origin, from, now)
      }
    }
    // Counted once the AEAD opened it, before the proof and replay checks: a datagram whose MACs
    // are not for us yet, or a multicast copy that lost the race to its unicast twin, still
    // shows that multicast reaches us (docs/PROTOCOL.md 13.2). Only near the origin's proven
    // packets of its current incarnation: one forged datagram with a huge incarnation or packet
    // number would otherwise reset the count and zero the origin's reported delivery for good.
    // The first datagrams of a new incarnation are counted below, once the window took them.
    let countedMulticast = false
    if (via === 'multicast' && peer && peer.window.plausible(frame.incarnation, frame.packet)) {
      this.engine.reach.heardMulticast(frame.origin, frame.incarnation, frame.packet)
      countedMulticast = true
    }
    if (!authentic && frame.type !== MessageType.Heartbeat && frame.type !== MessageType.Nack && frame.type !== MessageType.Ping) {
      return counters.drop('unsigned')
    }

    if (peer) {
      const verdict = peer.window.check(frame.incarnation, frame.packet, authentic)
      if (verdict === 'unsigned-ahead' && frame.incarnation > peer.incarnation) {
        // Likely a restart we have not seen signed yet: ask for a signed heartbeat.
        this.askIntroduction(frame.origin, from, now)
      } else if (verdict === 'unsigned-ahead' && frame.type === MessageType.Heartbeat) {
        // We lost more than UNSIGNED_LEAD of its packets in a row and its heartbeats carry no
        // MACs (a clean link, as it sees it): ask it alone for a signed one, which moves our window.
        this.askIntroduction(frame.origin, from, now, true)
      }
      // A repeated NACK goes out twice with one packet number (gap-repair.ts): its second copy
      // is expected, not an attack, and a replayed NACK only asks for what the repair budget bounds.
      if (verdict === 'replay' && frame.type === MessageType.Nack) return counters.add('ignored.nack-copies')
      if (verdict !== 'fresh') return counters.drop(verdict)
    }
    // Unsigned frames cannot introduce a node or a new incarnation: only repair and probe
    // requests (harmless, answered with signed data) are taken from strangers.
    const current = peer !== undefined && peer.replica !== null && frame.incarnation === peer.incarnation
    if (!authentic && !current) {
      if (frame.type === MessageType.Heartbeat) {
        this.askIntroduction(frame.origin, from, now)
        return counters.drop('unknown-origin')
      }
      return this.dispatchStrangerRequest(frame, from, via, now)
    }
    const known = peer as Peer
    known.window.accept(frame.incarnation, frame.packet, authentic)
    if (via === 'multicast' && !countedMulticast) this.engine.reach.heardMulticast(frame.origin, frame.incarnation, frame.packet)
    if (frame.type === MessageType.Goodbye) {
      if (current) this.engine.membership.down(known, 'goodbye')
      else counters.add('ignored.goodbye-stale')
      return
    }
    if (!current) this.engine.membership.up(known, frame.incarnation, from, now)
    this.engine.membership.heard(known, from, via, now)
    this.engine.unicast.heard(from)
    this.dispatch(known, frame, via, now)
  }

  /** Its X25519 key came signed: derive the pair MAC keys, so its MACs (and ours) can be checked. */
  private keyPeer(peer: Peer, dhKey: Uint8Array): void {
    if (peer.dhKey && Buffer.compare(peer.dhKey, dhKey) === 0) return
    const keys = this.engine.sealer.pairKeys(peer.publicKey, dhKey)
    if (!keys) return this.engine.counters.drop('bad-dh-key')
    peer.dhKey = dhKey
    peer.macIn = keys.macIn
    peer.macOut = keys.macOut
    this.engine.sender.peersChanged()
  }

  private dispatch(peer: Peer, frame: Frame, via: 'multicast' | 'unicast', now: number): void {
    const replica = peer.replica as Replica
    const { counters } = this.engine
    switch (frame.type) {
      case MessageType.Heartbeat:
        peer.originSeq = frame.seq
        peer.originDigest = frame.digest
        replica.gaps.noteLatest(frame.seq)
        this.engine.reach.heartbeat(frame, now)
        break
      case MessageType.Data: {
        const evictions = replica.evictions, refused = replica.keysRefused, assemblies = replica.assembliesEvicted
        // A number below the latest we knew of is a resend (a fresh packet, so no duplicate).
        if (frame.seq <= replica.gaps.latest) replica.nackBackoff.noteRepair()
        const result = replica.receive(frame)
        if (replica.evictions > evictions) counters.add('window-evictions', replica.evictions - evictions)
        if (replica.keysRefused > refused) counters.add('dropped.peer-over-limits', replica.keysRefused - refused)
        if (replica.assembliesEvicted > assemblies) counters.add('reassembly-evictions', replica.assembliesEvicted - assemblies)
        if ('drop' in result) {
          counters.drop(result.drop)
        } else {
          for (const event of result.updates) this.engine.emit({ type: 'update', event })
        }
        break
      }
      case MessageType.Message:
        if (frame.to !== this.engine.config.nodeId) return counters.add('ignored.message-not-for-us')
        this.engine.sender.ack(peer, frame.messageId)
        if (this.engine.messages.firstDelivery(`${peer.nodeId}/${frame.incarnation}/${frame.messageId}`)) {
          this.engine.emit({ type: 'message', event: { from: peer.nodeId, data: frame.data } })
        }
        return
      case MessageType.Peers:
        for (const address of frame.addresses) if (address !== peer.address) this.engine.addCandidate(address, now)
        return
      case MessageType.Ack:
        if (frame.to === this.engine.config.nodeId && this.engine.messages.acked(peer.nodeId, frame.messageId)) {
          this.engine.emit({ type: 'message-acked', messageId: frame.messageId })
        } else {
          counters.add('ignored.ack-unknown')
        }
        return
      default:
        this.dispatchStrangerRequest(frame, peer.address, via, now)
        return
    }
    this.engine.gapRepair.afterFrame(peer, replica, now)
  }

  /** NACKs and PINGs: what they ask of us, and what they tell us others already asked. */
  private dispatchStrangerRequest(frame: Frame, from: Address, via: 'multicast' | 'unicast', now: number): void {
    const self = this.engine.config.nodeId
    if (frame.type === MessageType.Nack) {
      if (frame.target === self) {
        // A NACK that came to us alone asks for a repair to its sender alone (point-to-point.ts),
        // where multicast is on: without it every group datagram reaches us by unicast anyway.
        const replyTo = via === 'unicast' && this.engine.config.multicast ? from : undefined
        if (frame.targetIncarnation === this.engine.incarnation) this.engine.originRepair.handleNack(frame.ranges, frame.wantSnapshot, frame.origin, now, replyTo)
        else this.engine.counters.add('ignored.nack-old-incarnation')
        return
      }
      const target = this.engine.membership.peers.get(frame.target)
      if (target?.replica && target.incarnation === frame.targetIncarnation) {
        this.engine.counters.add('nacks-overheard')
        this.engine.gapRepair.overheard(target, frame.ranges, frame.wantSnapshot, now)
      } else {
        this.engine.counters.add('ignored.nack-unknown-target')
      }
    } else if (frame.type === MessageType.Ping) {
      // One that came to us alone (by unicast, while multicast is on) is answered to its sender alone.
      if (frame.target === self) this.engine.answerPing(from, now, via === 'unicast' && this.engine.config.multicast ? frame.origin : undefined)
      else {
        const target = this.engine.membership.peers.get(frame.target)
        if (target) target.lastPingedAt = now
        else this.engine.counters.add('ignored.ping-unknown-target')
      }
    }
  }

  /** An origin we cannot verify yet: ask it for a signed heartbeat, not too often; `direct`: by unicast, to it alone. */
  private askIntroduction(nodeId: string, from: Address, now: number, direct = false): void {
    const last = this.introductionAskedAt.get(nodeId) ?? -Infinity
    if (now - last < TIMERS.introductionRequestMs) return
    if (this.introductionAskedAt.size > 1024) this.introductionAskedAt.clear()
    this.introductionAskedAt.set(nodeId, now)
    this.engine.sender.ping(nodeId, from, now, direct)
  }
}
