import type { DsnConfig } from '../config'
import { DsnError } from '../errors'
import { SEAL_OVERHEAD } from '../seal/envelope'
import type { PairKey } from '../seal/pair-keys'
import type { Signer } from '../seal/signer'
import { MessageType } from '../wire/constants'
import { cbor, encodeFrame, type Frame } from '../wire/frame'
import { Counters } from './counters'
import { DirectMessages } from './direct-messages'
import { checkKey, encodeValue } from './values'
import { toPlainValue } from '../wire/plain-value'
import { Inbound } from './inbound'
import { MacReceivers } from './mac-receivers'
import { OutgoingStream, type Sequenced } from './outgoing-stream'
import { OwnState } from './own-state'
import type { Peer } from './peer'
import { Sealer, type FrameBody } from './sealer'
import { UnicastTargets } from './unicast-targets'
import { RESEND_SNAPSHOT_THRESHOLD, TIMERS } from './timers'
import type { Address, EngineEvent, Outgoing, RandomSource } from './types'

export interface EngineOptions {
  config: DsnConfig
  signer: Signer
  /** Larger at every start of this node (persisted), so peers tell a restart from old data. */
  incarnation: number
  now: number
  random: RandomSource
  /** Node ids already pinned to keys (from the credential dir). */
  pinned?: ReadonlyMap<string, Uint8Array>
  /** Resolved "ip:port" of configured static peers. */
  staticPeers?: readonly Address[]
}

/**
 * The whole protocol for one node, without I/O: feed it datagrams (`receive`), time (`tick`)
 * and writes (`set`), then `take()` the datagrams to send and the events to emit, and call
 * `tick` again at `nextDeadline()`. Deterministic given its clock and random source.
 */
export class Engine {
  readonly config: DsnConfig
  readonly counters = new Counters()
  readonly incarnation: number
  readonly startedAt: number
  readonly own: OwnState
  readonly stream: OutgoingStream
  readonly sealer: Sealer
  readonly messages: DirectMessages
  readonly peers = new Map<string, Peer>()
  readonly pinned: Map<string, Uint8Array>
  readonly unicast: UnicastTargets
  /** A peer came up since we last told unicast peers whom we know. */
  peerListDirty = false
  readonly random: RandomSource
  private readonly inbound: Inbound
  private outbox: Outgoing[] = []
  private events: EngineEvent[] = []
  private flushPending = false
  private nextHeartbeatAt: number
  private tailHeartbeatAt = Infinity
  private introduceAt = Infinity
  private heartbeatsSent = 0
  private lastPingAnsweredAt = -Infinity
  private lastSnapshotAt = -Infinity
  private lastNackAt = -Infinity
  private readonly resentAt = new Map<number, number>()
  private stopped = false
  private readonly macReceivers = new MacReceivers(this.peers)

  constructor(options: EngineOptions) {
    const { config } = options
    this.config = config
    this.incarnation = options.incarnation
    this.startedAt = options.now
    this.random = options.random
    this.pinned = new Map(options.pinned ?? [])
    this.unicast = new UnicastTargets(options.staticPeers ?? [], config.multicast, 2.5 * config.heartbeatIntervalMs, config.maxPeers)
    this.own = new OwnState(config)
    const chunkBudget = config.mtu - SEAL_OVERHEAD - dataHeaderBytes(config.nodeId)
    this.stream = new OutgoingStream(config.historySize, Math.max(2 * config.maxStateBytes, 1 << 20), chunkBudget)
    this.sealer = new Sealer(
      { primary: config.networkKey, accepted: config.acceptedNetworkKeys, cluster: config.cluster },
      config.nodeId,
      options.incarnation,
      options.signer,
      options.random,
      config.mtu,
    )
    this.messages = new DirectMessages(config.sendTimeoutMs)
    this.inbound = new Inbound(this)
    // The first heartbeat goes out at once, signed: it is how others discover this node.
    this.nextHeartbeatAt = options.now
  }

  // ---- the application's side ----

  set(key: string, value: unknown): void {
    this.assertRunning()
    checkKey(key, this.config.maxKeyBytes)
    const encoded = encodeValue(value, this.config.maxValueBytes)
    if (!this.own.set(key, encoded).changed) return
    this.flushPending = true
    this.emit({ type: 'update', event: { nodeId: this.config.nodeId, key, value: encoded.value, deleted: false } })
  }

  delete(key: string): boolean {
    this.assertRunning()
    checkKey(key, this.config.maxKeyBytes)
    if (!this.own.delete(key)) return false
    this.flushPending = true
    this.emit({ type: 'update', event: { nodeId: this.config.nodeId, key, value: undefined, deleted: true } })
    return true
  }

  get(nodeId: string, key: string): unknown {
    if (nodeId === this.config.nodeId) return this.own.get(key)
    return this.peers.get(nodeId)?.replica?.get(key)
  }

  state(nodeId: string): Readonly<Record<string, unknown>> | undefined {
    if (nodeId === this.config.nodeId) return this.own.snapshot()
    return this.peers.get(nodeId)?.replica?.snapshot()
  }

  livePeers(): Peer[] {
    return [...this.peers.values()].filter((p) => p.replica !== null)
  }

  /** Starts a direct message; the shell resolves its promise on `message-acked`/`message-failed`. */
  sendMessage(to: string, data: unknown, now: number): number {
    this.assertRunning()
    const peer = this.peers.get(to)
    if (!peer || !peer.replica) throw new DsnError('DSN_UNKNOWN_PEER', `no live node "${to}" (live: ${this.livePeers().map((p) => p.nodeId).join(', ') || 'none'})`)
    // The receiver's check, so a message it would refuse fails here with the reason.
    const plain = toPlainValue(data, Infinity)
    if (!plain.ok) throw new DsnError('DSN_BAD_VALUE', `message ${plain.problem}`)
    data = plain.value
    let size: number
    try {
      size = cbor.encode(data).length
    } catch (err) {
      throw new DsnError('DSN_BAD_VALUE', `message cannot be encoded as CBOR: ${(err as Error).message}`)
    }
    const budget = this.config.mtu - SEAL_OVERHEAD - dataHeaderBytes(this.config.nodeId) - 70
    if (size > budget) throw new DsnError('DSN_MESSAGE_TOO_LARGE', `message is ${size} bytes encoded; at most ${budget} fit in one datagram`)
    const id = this.messages.create(to, data, now)
    this.sendDirect(peer, id, data)
    return id
  }

  /** A peer address learnt by mDNS or from a peer list: sent to by unicast until it is heard. */
  addCandidate(address: Address, now: number): void {
    if (this.stopped) return
    const outcome = this.unicast.addCandidate(address, now, this.peers.values())
    if (outcome === 'full') this.counters.add('candidates-dropped')
    // Say hello at once rather than at the next heartbeat.
    if (outcome === 'added') this.introduceAt = Math.min(this.introduceAt, now)
  }

  get candidates(): ReadonlyMap<Address, number> {
    return this.unicast.candidates
  }

  get selfAddresses(): ReadonlySet<Address> {
    return this.unicast.selfAddresses
  }

  /** Goodbye: peers drop this node at once instead of waiting for its timeout. */
  stop(now: number): void {
    if (this.stopped) return
    this.flush(now)
    for (let i = 0; i < TIMERS.goodbyeCopies; i++) this.sendGroup({ type: MessageType.Goodbye }, true, now)
    this.stopped = true
  }

  get isStopped(): boolean {
    return this.stopped
  }

  // ---- the shell's side ----

  receive(datagram: Uint8Array, from: Address, via: 'multicast' | 'unicast', now: number): void {
    if (this.stopped) return
    this.inbound.receive(datagram, from, via, now)
  }

  tick(now: number): void {
    if (this.stopped) return
    this.flush(now)
    if (now >= this.nextHeartbeatAt || now >= this.tailHeartbeatAt || now >= this.introduceAt) {
      const signed = this.heartbeatsSent % TIMERS.signedHeartbeatEvery === 0 || now >= this.introduceAt
      this.sendHeartbeat(signed, now)
      if (this.peerListDirty || this.heartbeatsSent % TIMERS.peerListEvery === 0) this.sendPeerList(now)
    }
    for (const peer of this.peers.values()) this.inbound.tickPeer(peer, now)
    const { resend, failed } = this.messages.due(now)
    for (const [id, p] of resend) {
      const peer = this.peers.get(p.to)
      if (peer?.replica) this.sendDirect(peer, id, p.data)
    }
    for (const [id, p] of failed) this.emit({ type: 'message-failed', messageId: id, nodeId: p.to })
    this.unicast.expire(now)
  }

  nextDeadline(): number {
    if (this.stopped) return Infinity
    if (this.flushPending) return -Infinity
    let next = Math.min(this.nextHeartbeatAt, this.tailHeartbeatAt, this.introduceAt, this.messages.nextDeadline())
    for (const peer of this.peers.values()) next = Math.min(next, this.inbound.peerDeadline(peer))
    return next
  }

  /** Datagrams to send and events to emit since the last call. */
  take(): { outgoing: Outgoing[]; events: EngineEvent[] } {
    const taken = { outgoing: this.outbox, events: this.events }
    this.outbox = []
    this.events = []
    return taken
  }

  // ---- used by Inbound ----

  emit(event: EngineEvent): void {
    this.events.push(event)
  }

  /** A peer came up, went down or was keyed: the MAC receivers are rebuilt before the next send. */
  peersChanged(): void {
    this.macReceivers.changed()
  }

  /** A new peer appeared: let it learn our key within a few ms. */
  introduceSoon(now: number): void {
    this.introduceAt = Math.min(this.introduceAt, now + this.random.next() * TIMERS.introduceMaxDelayMs)
  }

  /** `from` also gets the answer by unicast: a stranger behind blocked multicast can still meet us. */
  answerPing(from: Address, now: number): void {
    if (now - this.lastPingAnsweredAt < TIMERS.pingAnswerMinIntervalMs) return
    this.lastPingAnsweredAt = now
    // A heartbeat's digest must describe exactly the writes up to its sequence number.
    this.flush(now)
    this.sendHeartbeat(true, now, from)
  }

  /** The origin's side of repair: resend from history, or a snapshot when that is gone or cheaper. */
  handleNack(ranges: ReadonlyArray<readonly [number, number]>, wantSnapshot: boolean, now: number): void {
    this.counters.add('nacks-received')
    this.lastNackAt = now
    const oldest = this.stream.oldest()
    let wanted = 0
    for (const [first, last] of ranges) wanted += Math.min(last, this.stream.seq) - first + 1
    const tooOld = ranges.some(([first]) => first < oldest)
    const cheaperAsSnapshot = wanted > RESEND_SNAPSHOT_THRESHOLD && this.own.bytes < wanted * 256
    if (wantSnapshot || tooOld || cheaperAsSnapshot) {
      this.sendSnapshot(now)
      return
    }
    for (const [first, last] of ranges) {
      for (let seq = first; seq <= Math.min(last, this.stream.seq); seq++) {
        const item = this.stream.lookup(seq)
        if (!item) continue
        if (now - (this.resentAt.get(seq) ?? -Infinity) < TIMERS.resendSuppressMs) {
          this.counters.add('resends-suppressed')
          continue
        }
        this.resentAt.set(seq, now)
        this.counters.add('resends')
        this.sendData(item, now)
      }
    }
    if (this.resentAt.size > 4096) {
      for (const [seq, at] of this.resentAt) if (now - at >= TIMERS.resendSuppressMs) this.resentAt.delete(seq)
    }
  }

  sendNack(peer: Peer, ranges: Array<[number, number]>, wantSnapshot: boolean, now: number): void {
    this.counters.add(wantSnapshot ? 'snapshot-requests-sent' : 'nacks-sent')
    this.sendGroup(
      { type: MessageType.Nack, target: peer.nodeId, targetIncarnation: peer.incarnation, ranges, wantSnapshot },
      false,
      now,
      peer.address,
    )
  }

  sendPing(target: string, address: Address | undefined, now: number): void {
    this.counters.add('pings-sent')
    this.sendGroup({ type: MessageType.Ping, target }, false, now, address)
  }

  sendAck(to: Peer, messageId: number): void {
    this.send({ type: MessageType.Ack, to: to.nodeId, messageId }, 'authentic', false, [to.address], to.macOut ? [to.macOut] : [])
  }

  groupTargets(now: number, extra?: Address): Address[] {
    return this.unicast.forGroup(now, this.peers.values(), extra)
  }

  // ---- sending ----

  private flush(now: number): void {
    if (!this.flushPending) return
    this.flushPending = false
    const entries = this.own.takePending()
    if (entries.length === 0) return
    this.counters.add('writes-sent', entries.length)
    for (const item of this.stream.publishDelta(entries)) this.sendData(item, now)
  }

  private sendSnapshot(now: number): void {
    if (now - this.lastSnapshotAt < TIMERS.snapshotMinIntervalMs) {
      this.counters.add('snapshots-suppressed')
      return
    }
    this.flush(now)
    this.lastSnapshotAt = now
    this.counters.add('snapshots-sent')
    for (const item of this.stream.publishSnapshot(this.own.all())) this.sendData(item, now)
  }

  private sendData(item: Sequenced, now: number): void {
    this.sendGroup({ type: MessageType.Data, seq: item.seq, index: item.index, count: item.count, chunk: item.chunk }, true, now)
    if (now - this.lastNackAt < TIMERS.tailHeartbeatAfterNackMs) this.tailHeartbeatAt = now + TIMERS.tailHeartbeatMs
  }

  private sendHeartbeat(signed: boolean, now: number, extra?: Address): void {
    this.heartbeatsSent++
    this.counters.add(signed ? 'heartbeats-signed' : 'heartbeats')
    this.sendGroup(
      { type: MessageType.Heartbeat, seq: this.stream.seq, digest: Uint8Array.from(this.own.digest), publicKey: signed ? this.sealer.publicKey : null, dhKey: signed ? this.sealer.dhPublicKey : null },
      signed,
      now,
      extra,
    )
    const jitter = 1 + TIMERS.heartbeatJitter * (2 * this.random.next() - 1)
    this.nextHeartbeatAt = now + this.config.heartbeatIntervalMs * jitter
    this.tailHeartbeatAt = Infinity
    if (signed) this.introduceAt = Infinity
  }

  /**
   * Where some peers are reached only by unicast (static peers, blocked multicast), tell them
   * whom we know, so a chain a <- b <- c becomes a full mesh as it would by multicast.
   */
  private sendPeerList(now: number): void {
    this.peerListDirty = false
    const unicast = this.groupTargets(now)
    if (unicast.length === 0) return
    const addresses = this.livePeers().map((p) => p.address).slice(0, 64)
    if (addresses.length === 0) return
    this.counters.add('peer-lists-sent')
    // Some of these addresses are candidates we have not admitted: only a signature serves them.
    this.send({ type: MessageType.Peers, addresses }, 'signed', false, unicast, [])
  }

  private sendDirect(peer: Peer, messageId: number, data: unknown): void {
    this.counters.add('messages-sent')
    this.send({ type: MessageType.Message, to: peer.nodeId, messageId, data }, 'authentic', false, [peer.address], peer.macOut ? [peer.macOut] : [])
  }

  /**
   * `signed`: a signature (introductions, every 8th heartbeat). Otherwise frames that must
   * prove their origin carry MACs when every live peer is keyed and a signature when not; the
   * others (heartbeats, NACKs, PINGs) carry MACs for whoever is keyed.
   */
  private sendGroup(body: FrameBody, signed: boolean, now: number, extra?: Address): void {
    // Data and Goodbye always come here with `signed`: for them it means "prove the origin".
    const mustProve = body.type === MessageType.Data || body.type === MessageType.Goodbye
    const proof: Proof = mustProve ? 'authentic' : signed ? 'signed' : 'cheap'
    this.send(body, proof, this.config.multicast, this.groupTargets(now, extra), this.macReceivers.keyed)
  }

  private send(body: FrameBody, proof: Proof, multicast: boolean, unicast: Address[], receivers: readonly PairKey[]): void {
    if (this.stopped || (!multicast && unicast.length === 0)) return
    let signed = proof === 'signed'
    if (proof === 'authentic' && (receivers.length === 0 || this.unkeyedLiveFor(receivers) > 0)) signed = true
    const bytes = this.sealer.seal(body, signed, signed ? [] : receivers)
    this.counters.add('datagrams-sent')
    this.counters.add('bytes-sent', bytes.length)
    if (this.sealer.lastProof === 'macs') this.counters.add('datagrams-maced')
    this.outbox.push({ bytes, multicast, unicast })
  }

  /** Live peers without a pair key, when `receivers` is the group list; 0 for one named peer. */
  private unkeyedLiveFor(receivers: readonly PairKey[]): number {
    return receivers === this.macReceivers.keyed ? this.macReceivers.unkeyedLive : 0
  }

  private assertRunning(): void {
    if (this.stopped) throw new DsnError('DSN_STOPPED', 'this node was stopped')
  }
}

/** signed: always a signature; authentic: MACs or a signature; cheap: MACs where keyed, else nothing. */
type Proof = 'signed' | 'authentic' | 'cheap'

/** Bytes a Data frame needs besides its chunk, at the largest numbers it can carry. */
export function dataHeaderBytes(nodeId: string): number {
  const max = Number.MAX_SAFE_INTEGER
  const frame: Frame = { type: MessageType.Data, origin: nodeId, incarnation: max, packet: max, seq: max, index: 65535, count: 65535, chunk: new Uint8Array(0) }
  return encodeFrame(frame).length + 2
}
