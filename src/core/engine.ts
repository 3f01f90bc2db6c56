import type { DsnConfig } from '../config'
import { DsnError } from '../errors'
import { SEAL_OVERHEAD } from '../seal/envelope'
import type { Signer } from '../seal/signer'
import { MessageType } from '../wire/constants'
import { cbor, encodeFrame, type Frame } from '../wire/frame'
import { toPlainValue } from '../wire/plain-value'
import { Counters } from './counters'
import { DirectMessages } from './direct-messages'
import { GapRepair } from './gap-repair'
import { Inbound } from './inbound'
import { LocalHealth } from './local-health'
import { Membership } from './membership'
import { OriginRepair } from './origin-repair'
import { OutgoingStream, type Sequenced } from './outgoing-stream'
import { OwnState } from './own-state'
import { RepairBudget } from './repair-budget'
import { PointToPoint } from './point-to-point'
import type { Peer } from './peer'
import { Reachability } from './reachability'
import { Sealer } from './sealer'
import { Sender } from './sender'
import { HeartbeatSchedule, heartbeatPhase } from './heartbeat-schedule'
import { HEALTH, TIMERS } from './timers'
import { UnicastTargets } from './unicast-targets'
import { checkKey, encodeValue } from './values'
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
  /** Wall-clock ms minus engine ms (the shell: Date.now() - performance.now()). Regular
   * heartbeats go out on the wall clock's multiples of the interval, so nodes whose clocks agree
   * (NTP, or one host) send theirs together; without it, multiples of engine time. */
  wallClockOffset?: () => number
}

/**
 * The whole protocol for one node, without I/O: feed it datagrams (`receive`), time (`tick`)
 * and writes (`set`), then `take()` the datagrams to send and the events to emit, and call
 * `tick` again at `nextDeadline()`. Deterministic given its clock and random source.
 *
 * It composes the parts and owns what belongs to this node's own stream: writes, flushing
 * them into deltas, and the heartbeat schedule. Receiving is Inbound's, the peer table and
 * its timers Membership's, repair GapRepair's (as a receiver) and OriginRepair's (as origin),
 * sealing and addressing Sender's.
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
  readonly membership: Membership
  readonly unicast: UnicastTargets
  /** Per-peer multicast reachability and the path choice it feeds (docs/PROTOCOL.md 13.2-13.3). */
  readonly reach: Reachability
  readonly sender: Sender
  readonly gapRepair: GapRepair
  readonly originRepair: OriginRepair
  readonly random: RandomSource
  /** Our own lag (loop, timers, receive queue): stretches peer timeouts (local-health.ts). */
  readonly health = new LocalHealth()
  /** Group or point-to-point repair and probes (point-to-point.ts). */
  readonly p2p: PointToPoint
  private readonly inbound: Inbound
  private events: EngineEvent[] = []
  /** A peer came up since we last told unicast peers whom we know. */
  private peerListDirty = false
  private flushPending = false
  private readonly heartbeats: HeartbeatSchedule
  private stopped = false

  constructor(options: EngineOptions) {
    const { config } = options
    this.config = config
    this.incarnation = options.incarnation
    this.startedAt = options.now
    this.p2p = new PointToPoint(this.health, config.maxPeers, options.now)
    this.random = options.random
    this.unicast = new UnicastTargets(options.staticPeers ?? [], config.multicast, 2.5 * config.heartbeatIntervalMs, config.maxPeers, {
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      maxUnicastPeers: config.maxUnicastPeers,
      counters: this.counters,
    })
    this.reach = new Reachability(config.nodeId, config.multicast, config.heartbeatIntervalMs, this.unicast.paths)
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
    // Hooks are closures over `this`, so a test that wraps `emit` sees every event.
    this.membership = new Membership(config, this.counters, this.random, {
      emit: (event) => this.emit(event),
      peerUp: (_peer, now) => {
        this.heartbeats.introduceSoon(now)
        this.peerListDirty = true
        this.sender.peersChanged()
      },
      peerMoved: () => this.unicast.peersChanged(),
      peerDown: (peer) => {
        this.sender.peersChanged()
        for (const id of this.messages.failTo(peer.nodeId)) this.emit({ type: 'message-failed', messageId: id, nodeId: peer.nodeId })
      },
      probe: (peer, now) => this.sender.ping(peer.nodeId, peer.address, now, this.p2p.direct(now)),
      nackDue: (peer, replica, now) => this.gapRepair.nackDue(peer, replica, now),
      peerTimeout: (timeoutMs, now) => this.health.timeout(timeoutMs, now),
    }, options.pinned)
    this.sender = new Sender(config, this.counters, this.sealer, this.unicast, this.membership.peers, this.reach)
    this.gapRepair = new GapRepair(config, this.counters, this.random, this.membership, {
      nack: (peer, ranges, wantSnapshot, now, copies) => this.sender.nack(peer, ranges, wantSnapshot, now, this.p2p.direct(now), copies),
      lag: (now) => (this.health.isDegraded(now) ? Math.min(HEALTH.maxNackLagWaitMs, this.health.lag(now)) : 0),
    })
    this.originRepair = new OriginRepair(this.counters, this.stream, this.own, {
      sendData: (item, now) => this.sendData(item, now, true),
      sendDataTo: (item, requester, address) => this.sender.dataTo(item, address, this.membership.peers.get(requester)),
      flush: (now) => this.flush(now),
    }, new RepairBudget(options.now, config.maxPeers))
    this.inbound = new Inbound({
      config,
      counters: this.counters,
      incarnation: this.incarnation,
      sealer: this.sealer,
      unicast: this.unicast,
      membership: this.membership,
      sender: this.sender,
      gapRepair: this.gapRepair,
      originRepair: this.originRepair,
      messages: this.messages,
      reach: this.reach,
      emit: (event) => this.emit(event),
      addCandidate: (address, now) => this.addCandidate(address, now),
      answerPing: (from, now, pinger) => this.answerPing(from, now, pinger),
    })
    // The first heartbeat goes out at once, signed: it is how others discover this node.
    const wallClockOffset = options.wallClockOffset ?? (() => 0)
    this.heartbeats = new HeartbeatSchedule(config.heartbeatIntervalMs, this.random, options.now, () =>
      wallClockOffset() - heartbeatPhase(config.nodeId, this.membership.liveCount + 1, config.heartbeatIntervalMs))
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
    return this.membership.peers.get(nodeId)?.replica?.get(key)
  }

  state(nodeId: string): Readonly<Record<string, unknown>> | undefined {
    if (nodeId === this.config.nodeId) return this.own.snapshot()
    return this.membership.peers.get(nodeId)?.replica?.snapshot()
  }

  /** Every node we know of, up or down (read-only: Membership owns the table). */
  get peers(): ReadonlyMap<string, Peer> {
    return this.membership.peers
  }

  get pinned(): ReadonlyMap<string, Uint8Array> {
    return this.membership.pinned
  }

  livePeers(): Peer[] {
    return this.membership.livePeers()
  }

  /** Starts a direct message; the shell resolves its promise on `message-acked`/`message-failed`. */
  sendMessage(to: string, data: unknown, now: number): number {
    this.assertRunning()
    const peer = this.membership.peers.get(to)
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
    this.sender.message(peer, id, data)
    return id
  }

  /** A peer address learnt by mDNS or from a peer list: sent to by unicast until it is heard. */
  addCandidate(address: Address, now: number): void {
    if (this.stopped) return
    const outcome = this.unicast.addCandidate(address, now, this.membership.peers.values())
    if (outcome === 'full') this.counters.add('candidates-dropped')
    // Say hello at once rather than at the next heartbeat.
    if (outcome === 'added') this.heartbeats.introduceNow(now)
  }

  get candidates(): ReadonlyMap<Address, number> {
    return this.unicast.candidates
  }

  get selfAddresses(): ReadonlySet<Address> {
    return this.unicast.selfAddresses
  }

  /** Where a group datagram sent now would go by unicast (besides the multicast group). */
  groupTargets(now: number): readonly Address[] {
    return this.sender.groupTargets(now)
  }

  /** Goodbye: peers drop this node at once instead of waiting for its timeout. */
  stop(now: number): void {
    if (this.stopped) return
    this.flush(now)
    for (let i = 0; i < TIMERS.goodbyeCopies; i++) this.sender.goodbye(now)
    this.sender.close()
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

  /**
   * What the shell measured of its own process: event-loop lag, how long its receive queue
   * takes to drain, datagrams the kernel dropped. Our own starvation, not our peers' silence.
   */
  noteHealth(sample: { loopLagMs: number; receiveBacklogMs: number; kernelDrops: number }, now: number): void {
    if (this.health.noteLag('loop', sample.loopLagMs, now)) this.counters.add('health.lag-loop')
    if (this.health.noteLag('receive', sample.receiveBacklogMs, now)) this.counters.add('health.lag-receive')
    if (sample.kernelDrops > 0) this.p2p.noteLocalLoss(now)
    this.counters.add('health.samples')
  }

  tick(now: number): void {
    if (this.stopped) return
    // A timer that fires late means our loop was busy: the silence of peers since is partly ours.
    if (this.health.noteTick(this.timerDeadline(), now)) this.counters.add('health.lag-timer')
    this.flush(now)
    const due = this.heartbeats.due(now)
    if (due) {
      this.sendHeartbeat(due.signed, now)
      if (this.peerListDirty || this.heartbeats.sent % TIMERS.peerListEvery === 0) this.sendPeerList(now)
    }
    this.membership.tick(now)
    if (now >= this.messages.nextDeadline()) {
      const { resend, failed } = this.messages.due(now)
      for (const [id, p] of resend) {
        const peer = this.membership.peers.get(p.to)
        if (peer?.replica) this.sender.message(peer, id, p.data)
      }
      for (const [id, p] of failed) this.emit({ type: 'message-failed', messageId: id, nodeId: p.to })
    }
    this.unicast.expire(now)
  }

  nextDeadline(): number {
    if (this.stopped) return Infinity
    if (this.flushPending) return -Infinity
    return this.timerDeadline()
  }

  private timerDeadline(): number {
    return Math.min(this.heartbeats.deadline, this.messages.nextDeadline(), this.membership.nextDeadline())
  }

  /** Datagrams to send and events to emit since the last call. */
  take(): { outgoing: Outgoing[]; events: EngineEvent[] } {
    const taken = { outgoing: this.sender.take(), events: this.events }
    this.events = []
    return taken
  }

  emit(event: EngineEvent): void {
    this.events.push(event)
  }

  // ---- our own stream ----

  /** `from` also gets the answer by unicast: a stranger behind blocked multicast can still meet us. */
  private answerPing(from: Address, now: number, pinger?: string): void {
    if (pinger !== undefined) {
      // A PING to us alone (point-to-point.ts): its sender alone hears the answer, signed (it
      // may lack our key), without moving the group heartbeat's schedule.
      if (!this.p2p.mayAnswer(pinger, now, TIMERS.pingAnswerMinIntervalMs)) return
      this.flush(now)
      this.sender.heartbeatTo(this.stream.seq, Uint8Array.from(this.own.digest), from)
      return
    }
    if (!this.heartbeats.answerPing(now)) return
    // A heartbeat's digest must describe exactly the writes up to its sequence number.
    this.flush(now)
    this.sendHeartbeat(true, now, from)
  }

  private flush(now: number): void {
    if (!this.flushPending) return
    this.flushPending = false
    const entries = this.own.takePending()
    if (entries.length === 0) return
    this.counters.add('writes-sent', entries.length)
    for (const item of this.stream.publishDelta(entries)) this.sendData(item, now)
  }

  private sendData(item: Sequenced, now: number, repair = false): void {
    this.sender.data(item, now, repair)
    // Where loss was seen: a NACK reached us, or a peer reports losing some of our multicast.
    // Where even repairs are lost, a tail heartbeat is as likely to be: it goes out as many
    // times as each resend does.
    this.heartbeats.afterData(now, this.lossSeenAt, this.originRepair.resendCopies)
  }

  /** When a NACK last reached us, or a peer last reported losing some of our multicast. */
  private get lossSeenAt(): number {
    return Math.max(this.originRepair.lastNackAt, this.reach.paths.lossReportedAt)
  }

  private sendHeartbeat(signed: boolean, now: number, extra?: Address): void {
    // MACs only where loss was seen lately: they let a receiver far behind take the heartbeat
    // at once (docs/PROTOCOL.md 3.2); on a clean link they would be a third of idle traffic.
    const macs = now - this.lossSeenAt < TIMERS.tailHeartbeatAfterNackMs
    this.sender.heartbeat(this.stream.seq, Uint8Array.from(this.own.digest), signed, now, extra, macs)
    this.heartbeats.noteSent(signed, now)
  }

  private sendPeerList(now: number): void {
    this.peerListDirty = false
    this.sender.peerList(this.livePeers(), now)
  }

  private assertRunning(): void {
    if (this.stopped) throw new DsnError('DSN_STOPPED', 'this node was stopped')
  }
}

/** Bytes a Data frame needs besides its chunk, at the largest numbers it can carry. */
export function dataHeaderBytes(nodeId: string): number {
  const max = Number.MAX_SAFE_INTEGER
  const frame: Frame = { type: MessageType.Data, origin: nodeId, incarnation: max, packet: max, seq: max, index: 65535, count: 65535, chunk: new Uint8Array(0) }
  return encodeFrame(frame).length + 2
}
