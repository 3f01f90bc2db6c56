import type { PeerDownReason } from '../node/events'
import { checkMacs } from '../seal/pair-keys'
import { verifierFor } from '../seal/signer'
import { MessageType } from '../wire/constants'
import type { Frame } from '../wire/frame'
import { sameDigest } from './digest'
import type { Engine } from './engine'
import type { Peer } from './peer'
import { Replica } from './replica'
import { ReplayWindow } from './replay-window'
import { MAX_NACK_RANGES, TIMERS } from './timers'
import type { Address } from './types'

/**
 * The receive path: authenticate (AEAD, then signature or a known peer), refuse replays,
 * admit peers, and hand each frame to the part of the engine it concerns. Also the per-peer
 * timers: NACKs for gaps, probes for quiet peers, and the timeout that declares them down.
 */
export class Inbound {
  private readonly introductionAskedAt = new Map<string, number>()

  constructor(private readonly engine: Engine) {}

  receive(datagram: Uint8Array, from: Address, via: 'multicast' | 'unicast', now: number): void {
    const { counters, config } = this.engine
    counters.add('datagrams-received')
    counters.add('bytes-received', datagram.length)
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

    let peer = this.engine.peers.get(frame.origin)
    // Authentic: proven to come from the origin (its signature, or its MAC for us).
    let authentic = false
    if (opened.signed) {
      const announced = frame.type === MessageType.Heartbeat ? frame.publicKey : null
      const known = peer?.publicKey ?? this.engine.pinned.get(frame.origin) ?? null
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
        peer = this.newPeer(frame.origin, key, verify, from, now)
        if (!peer) return counters.drop('too-many-peers')
      }
      if (frame.type === MessageType.Heartbeat && frame.dhKey) this.keyPeer(peer, frame.dhKey)
      authentic = true
    } else if (opened.macs) {
      if (peer?.macIn) {
        const verdict = checkMacs(peer.macIn, opened.frameBytes, opened.macs)
        if (verdict === 'bad') return counters.drop('bad-mac')
        authentic = verdict === 'ok'
        if (!authentic) counters.add('macs-not-for-us')
      } else {
        // We lack its X25519 key (or the origin itself): its signed heartbeat carries it.
        this.askIntroduction(frame.origin, from, now)
      }
    }
    if (!authentic && frame.type !== MessageType.Heartbeat && frame.type !== MessageType.Nack && frame.type !== MessageType.Ping) {
      return counters.drop('unsigned')
    }

    if (peer) {
      const verdict = peer.window.check(frame.incarnation, frame.packet, authentic)
      if (verdict === 'unsigned-ahead' && frame.incarnation > peer.incarnation) {
        // Likely a restart we have not seen signed yet: ask for a signed heartbeat.
        this.askIntroduction(frame.origin, from, now)
      }
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
      return this.dispatchStrangerRequest(frame, from, now)
    }
    const known = peer as Peer
    known.window.accept(frame.incarnation, frame.packet, authentic)
    if (frame.type === MessageType.Goodbye) {
      if (current) this.down(known, 'goodbye')
      else counters.add('ignored.goodbye-stale')
      return
    }
    if (!current) this.up(known, frame.incarnation, from, now)
    known.lastHeardAt = now
    known.address = from
    if (via === 'multicast') known.lastMulticastAt = now
    known.probeAt = null
    this.engine.unicast.heard(from)
    this.dispatch(known, frame, now)
  }

  /** Its X25519 key came signed: derive the pair MAC keys, so its MACs (and ours) can be checked. */
  private keyPeer(peer: Peer, dhKey: Uint8Array): void {
    if (peer.dhKey && Buffer.compare(peer.dhKey, dhKey) === 0) return
    const keys = this.engine.sealer.pairKeys(peer.publicKey, dhKey)
    if (!keys) return this.engine.counters.drop('bad-dh-key')
    peer.dhKey = dhKey
    peer.macIn = keys.macIn
    peer.macOut = keys.macOut
    this.engine.peersChanged()
  }

  /** Timers for one peer: NACK a gap, probe when quiet, declare down on timeout. */
  tickPeer(peer: Peer, now: number): void {
    const replica = peer.replica
    if (!replica) return
    // Compare with the same sums peerDeadline() returns, so float rounding cannot leave a
    // deadline that has passed but whose timer does not fire.
    if (now >= this.downAt(peer)) return this.down(peer, 'timeout')
    if (replica.nackAt !== null && now >= replica.nackAt) this.nack(peer, replica, now)
    if (now >= this.quietAt(peer)) {
      if (peer.probeAt === null) peer.probeAt = now + this.engine.random.next() * TIMERS.probeJitterMs
      if (now >= peer.probeAt) {
        if (now - peer.lastPingedAt < TIMERS.probeIntervalMs) {
          peer.probeAt = peer.lastPingedAt + TIMERS.probeIntervalMs
        } else {
          this.engine.sendPing(peer.nodeId, peer.address, now)
          peer.lastPingedAt = now
          peer.probeAt = now + TIMERS.probeIntervalMs
        }
      }
    }
  }

  peerDeadline(peer: Peer): number {
    if (!peer.replica) return Infinity
    let next = this.downAt(peer)
    if (peer.replica.nackAt !== null) next = Math.min(next, peer.replica.nackAt)
    return Math.min(next, peer.probeAt ?? this.quietAt(peer))
  }

  private downAt(peer: Peer): number {
    return peer.lastHeardAt + this.engine.config.peerTimeoutMs
  }

  /** When a silent peer starts being probed. */
  private quietAt(peer: Peer): number {
    return peer.lastHeardAt + this.engine.config.heartbeatIntervalMs * TIMERS.probeAfterIntervals
  }

  private dispatch(peer: Peer, frame: Frame, now: number): void {
    const replica = peer.replica as Replica
    const { counters } = this.engine
    switch (frame.type) {
      case MessageType.Heartbeat:
        peer.originSeq = frame.seq
        peer.originDigest = frame.digest
        replica.gaps.noteLatest(frame.seq)
        break
      case MessageType.Data: {
        const evictions = replica.evictions, refused = replica.keysRefused, assemblies = replica.assembliesEvicted
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
        this.engine.sendAck(peer, frame.messageId)
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
        this.dispatchStrangerRequest(frame, peer.address, now)
        return
    }
    if (replica.gaps.hasGap() && replica.nackAt === null) {
      replica.nackAt = now + TIMERS.nackDelayMinMs + this.engine.random.next() * (TIMERS.nackDelayMaxMs - TIMERS.nackDelayMinMs)
    }
    this.checkDigest(peer, replica, now)
  }

  /** NACKs and PINGs: what they ask of us, and what they tell us others already asked. */
  private dispatchStrangerRequest(frame: Frame, from: Address, now: number): void {
    const self = this.engine.config.nodeId
    if (frame.type === MessageType.Nack) {
      if (frame.target === self) {
        if (frame.targetIncarnation === this.engine.incarnation) this.engine.handleNack(frame.ranges, frame.wantSnapshot, now)
        else this.engine.counters.add('ignored.nack-old-incarnation')
        return
      }
      const target = this.engine.peers.get(frame.target)
      if (target?.replica && target.incarnation === frame.targetIncarnation) {
        this.engine.counters.add('nacks-overheard')
        target.replica.gaps.markRequested(frame.ranges, now)
      } else {
        this.engine.counters.add('ignored.nack-unknown-target')
      }
    } else if (frame.type === MessageType.Ping) {
      if (frame.target === self) this.engine.answerPing(from, now)
      else {
        const target = this.engine.peers.get(frame.target)
        if (target) target.lastPingedAt = now
        else this.engine.counters.add('ignored.ping-unknown-target')
      }
    }
  }

  private nack(peer: Peer, replica: Replica, now: number): void {
    const ranges = replica.gaps.missing(now - TIMERS.nackRetryMs, MAX_NACK_RANGES)
    if (ranges.length > 0) {
      this.engine.sendNack(peer, ranges, false, now)
      replica.gaps.markRequested(ranges, now)
    } else if (replica.gaps.hasGap()) {
      this.engine.counters.add('nacks-suppressed')
    }
    replica.nackAt = replica.gaps.hasGap() ? now + TIMERS.nackRetryMs + this.engine.random.next() * TIMERS.nackDelayMaxMs : null
  }

  /** All caught up but the digest differs: silent divergence, repaired by a snapshot. */
  private checkDigest(peer: Peer, replica: Replica, now: number): void {
    if (!peer.originDigest || !replica.isSettled(peer.originSeq)) return
    if (sameDigest(replica.digest, peer.originDigest)) {
      replica.snapshotBackoffMs = 0
      return
    }
    // Refused entries stay in the digest (replica.ts), so a mismatch means real divergence; if a
    // snapshot cannot fix it (an origin we cannot decode), ask ever less often, up to a bound.
    const wait = Math.max(replica.snapshotBackoffMs, this.engine.config.heartbeatIntervalMs)
    if (now - replica.lastSnapshotRequestAt < wait) return
    replica.lastSnapshotRequestAt = now
    replica.snapshotBackoffMs = Math.min(2 * wait, TIMERS.snapshotRequestBackoffMaxMs)
    this.engine.counters.add('digest-mismatches')
    const at = Math.max(1, peer.originSeq)
    this.engine.sendNack(peer, [[at, at]], true, now)
  }

  private newPeer(nodeId: string, publicKey: Uint8Array, verify: Peer['verify'], from: Address, now: number): Peer | undefined {
    const { peers, config, pinned } = this.engine
    if (peers.size >= config.maxPeers * 2) {
      // Make room by forgetting the longest-silent peer that is already down.
      let oldest: Peer | undefined
      for (const p of peers.values()) if (!p.replica && (!oldest || p.lastHeardAt < oldest.lastHeardAt)) oldest = p
      if (!oldest) return undefined
      peers.delete(oldest.nodeId)
    }
    if (this.engine.livePeers().length >= config.maxPeers) return undefined
    if (!pinned.has(nodeId)) {
      // Bounded like everything fed by the network: past 4 x maxPeers ids, the oldest pin of
      // a node we no longer track is forgotten (that id is then trusted on first use again).
      if (pinned.size >= 4 * config.maxPeers) {
        for (const old of pinned.keys()) {
          if (!peers.has(old)) {
            pinned.delete(old)
            this.engine.counters.add('pins-evicted')
            break
          }
        }
      }
      pinned.set(nodeId, publicKey)
      this.engine.emit({ type: 'pin', nodeId, publicKey })
    }
    const peer: Peer = {
      nodeId, publicKey, verify, dhKey: null, macIn: null, macOut: null, window: new ReplayWindow(), replica: null, incarnation: 0, address: from,
      lastHeardAt: now, lastMulticastAt: -Infinity, originSeq: 0, originDigest: null, probeAt: null, lastPingedAt: -Infinity,
    }
    peers.set(nodeId, peer)
    return peer
  }

  private up(peer: Peer, incarnation: number, from: Address, now: number): void {
    if (peer.replica) this.down(peer, 'restart')
    const { config } = this.engine
    peer.incarnation = incarnation
    peer.originSeq = 0
    peer.originDigest = null
    peer.replica = new Replica(peer.nodeId, incarnation, {
      maxKeyBytes: config.maxKeyBytes,
      maxKeysPerNode: config.maxKeysPerNode,
      maxValueBytes: config.maxValueBytes,
      maxStateBytes: config.maxStateBytes,
      maxReassemblyBytes: config.maxStateBytes + config.maxValueBytes,
    }, 16 * config.historySize + 4096)
    peer.address = from
    this.engine.counters.add('peers-up')
    this.engine.emit({ type: 'peer-up', event: { nodeId: peer.nodeId, incarnation, address: from } })
    this.engine.introduceSoon(now)
    this.engine.peerListDirty = true
    this.engine.peersChanged()
  }

  private down(peer: Peer, reason: PeerDownReason): void {
    if (!peer.replica) return
    peer.replica = null
    peer.probeAt = null
    this.engine.counters.add(`peers-down.${reason}`)
    this.engine.emit({ type: 'peer-down', event: { nodeId: peer.nodeId, incarnation: peer.incarnation, reason } })
    this.engine.peersChanged()
    for (const id of this.engine.messages.failTo(peer.nodeId)) {
      this.engine.emit({ type: 'message-failed', messageId: id, nodeId: peer.nodeId })
    }
  }

  /** An origin we cannot verify yet: ask it for a signed heartbeat, not too often. */
  private askIntroduction(nodeId: string, from: Address, now: number): void {
    const last = this.introductionAskedAt.get(nodeId) ?? -Infinity
    if (now - last < TIMERS.introductionRequestMs) return
    if (this.introductionAskedAt.size > 1024) this.introductionAskedAt.clear()
    this.introductionAskedAt.set(nodeId, now)
    this.engine.sendPing(nodeId, from, now)
  }
}
