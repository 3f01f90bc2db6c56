import type { DsnConfig } from '../config'
import type { PairKey } from '../seal/pair-keys'
import { MessageType } from '../wire/constants'
import { NO_REPORT } from '../wire/receiver-report'
import type { Counter, Counters } from './counters'
import { MacReceivers } from './mac-receivers'
import type { Sequenced } from './outgoing-stream'
import type { Peer } from './peer'
import type { Reachability } from './reachability'
import type { FrameBody, Sealer } from './sealer'
import type { UnicastTargets } from './unicast-targets'
import type { Address, Outgoing } from './types'

/** signed: always a signature; authentic: MACs or a signature; cheap: MACs where keyed, else nothing; none: nothing. */
type Proof = 'signed' | 'authentic' | 'cheap' | 'none'

/**
 * Every frame leaves through here: it chooses the origin proof (signature or receiver MACs),
 * seals, addresses (the group plus the unicast copies some peers need) and queues the datagram
 * for the shell. It makes no protocol decision about *what* to send.
 */
export class Sender {
  private outbox: Outgoing[] = []
  private stopped = false
  private readonly macReceivers: MacReceivers
  /** Added to for every datagram sent: held, not looked up by name each time. */
  private readonly datagramsSent: Counter
  private readonly bytesSent: Counter
  private readonly datagramsMaced: Counter

  constructor(
    private readonly config: DsnConfig,
    private readonly counters: Counters,
    private readonly sealer: Sealer,
    private readonly unicast: UnicastTargets,
    private readonly peers: ReadonlyMap<string, Peer>,
    private readonly reach: Reachability,
  ) {
    this.macReceivers = new MacReceivers(peers)
    this.datagramsSent = counters.counter('datagrams-sent')
    this.bytesSent = counters.counter('bytes-sent')
    this.datagramsMaced = counters.counter('datagrams-maced')
  }

  /** A peer came up, went down or was keyed: the MAC receivers are rebuilt before the next send. */
  peersChanged(): void {
    this.macReceivers.changed()
    this.unicast.peersChanged()
  }

  /** Nothing is queued after this (the goodbye is the last datagram). */
  close(): void {
    this.stopped = true
  }

  /** Datagrams queued since the last take(). */
  get queued(): number {
    return this.outbox.length
  }

  take(): Outgoing[] {
    const out = this.outbox
    this.outbox = []
    return out
  }

  groupTargets(now: number, extra?: Address, probe = false): readonly Address[] {
    return this.unicast.forGroup(now, this.peers.values(), extra, probe)
  }

  /** A resend for one requester only (point-to-point repair, point-to-point.ts): unicast, MACed for it when keyed. */
  dataTo(item: Sequenced, to: Address, peer: Peer | undefined): void {
    const queued = this.outbox.length
    this.sendAlone({ type: MessageType.Data, seq: item.seq, index: item.index, count: item.count, chunk: item.chunk }, 'authentic', to, peer)
    if (this.outbox.length > queued) this.outbox[queued].repair = true
  }

  /** `repair`: a resend or snapshot chunk, which the shell sends after fresh data and sheds first. */
  data(item: Sequenced, now: number, repair = false): void {
    const queued = this.outbox.length
    this.group({ type: MessageType.Data, seq: item.seq, index: item.index, count: item.count, chunk: item.chunk }, true, now)
    if (repair && this.outbox.length > queued) this.outbox[queued].repair = true
  }

  /**
   * `extra`: the pinger this heartbeat answers (also sent to by unicast, see UnicastTargets.forGroup).
   * `macs`: MACs for the keyed peers when not signed; otherwise no proof (docs/PROTOCOL.md 3.2).
   */
  heartbeat(seq: number, digest: Uint8Array, signed: boolean, now: number, extra?: Address, macs = true): void {
    this.counters.add(signed ? 'heartbeats-signed' : 'heartbeats')
    const live: string[] = []
    for (const p of this.peers.values()) if (p.replica) live.push(p.nodeId)
    this.group(
      { type: MessageType.Heartbeat, seq, digest, publicKey: signed ? this.sealer.publicKey : null, dhKey: signed ? this.sealer.dhPublicKey : null, ...this.reach.heartbeatFields(live, now, signed) },
      signed,
      now,
      extra,
      extra !== undefined,
      macs,
    )
  }

  /** A signed heartbeat to one address alone: the answer to a direct PING (point-to-point.ts). */
  heartbeatTo(seq: number, digest: Uint8Array, to: Address): void {
    this.counters.add('heartbeats-direct')
    // It is a unicast-only datagram itself: the receiver's multicast count must not include it.
    const unicastOnly = this.reach.unicastOnlySent + 1
    this.send({ type: MessageType.Heartbeat, seq, digest, publicKey: this.sealer.publicKey, dhKey: this.sealer.dhPublicKey, unicastOnly, report: NO_REPORT }, 'signed', false, [to], [])
  }

  goodbye(now: number): void {
    this.group({ type: MessageType.Goodbye }, true, now)
  }

  /**
   * `direct`: to the origin alone (our losses are our own, point-to-point.ts), not to the group.
   * `copies`: the same sealed bytes again, so the origin (and whoever overhears) takes one NACK
   * and counts the rest as `ignored.nack-copies`.
   */
  nack(peer: Peer, ranges: Array<[number, number]>, wantSnapshot: boolean, now: number, direct = false, copies = 1): void {
    this.counters.add(wantSnapshot ? 'snapshot-requests-sent' : 'nacks-sent')
    const body: FrameBody = { type: MessageType.Nack, target: peer.nodeId, targetIncarnation: peer.incarnation, ranges, wantSnapshot }
    const queued = this.outbox.length
    if (direct) {
      this.counters.add('nacks-direct')
      this.sendAlone(body, 'cheap', peer.address, peer)
    } else {
      this.group(body, false, now, peer.address)
    }
    const sealed = this.outbox[queued]
    if (!sealed) return
    for (let c = 1; c < copies; c++) this.outbox.push({ ...sealed })
    if (copies > 1) this.counters.add('nack-copies', copies - 1)
  }

  /** `direct`: to the target alone (we heard it late because we lag, point-to-point.ts), not to the group. */
  ping(target: string, address: Address | undefined, now: number, direct = false): void {
    this.counters.add('pings-sent')
    if (direct && address !== undefined) {
      this.counters.add('pings-direct')
      this.sendAlone({ type: MessageType.Ping, target }, 'cheap', address, this.peers.get(target))
      return
    }
    this.group({ type: MessageType.Ping, target }, false, now, address, true)
  }

  ack(to: Peer, messageId: number): void {
    this.sendAlone({ type: MessageType.Ack, to: to.nodeId, messageId }, 'authentic', to.address, to)
  }

  message(to: Peer, messageId: number, data: unknown): void {
    this.counters.add('messages-sent')
    this.sendAlone({ type: MessageType.Message, to: to.nodeId, messageId, data }, 'authentic', to.address, to)
  }

  /**
   * Where some peers are reached only by unicast (static peers, blocked multicast), tell them
   * whom we know, so a chain a <- b <- c becomes a full mesh as it would by multicast.
   */
  peerList(live: readonly Peer[], now: number): void {
    const unicast = this.groupTargets(now)
    if (unicast.length === 0) return
    const addresses = live.map((p) => p.address).slice(0, 64)
    if (addresses.length === 0) return
    this.counters.add('peer-lists-sent')
    // Some of these addresses are candidates we have not admitted: only a signature serves them.
    this.send({ type: MessageType.Peers, addresses }, 'signed', false, unicast, [])
  }

  /**
   * `signed`: a signature (introductions, every 16th heartbeat). Otherwise frames that must
   * prove their origin carry MACs when every live peer is keyed and a signature when not; the
   * others (heartbeats, NACKs, PINGs) carry MACs for whoever is keyed, unless `macs` is false.
   */
  private group(body: FrameBody, signed: boolean, now: number, extra?: Address, probe = false, macs = true): void {
    // Data and Goodbye always come here with `signed`: for them it means "prove the origin".
    const mustProve = body.type === MessageType.Data || body.type === MessageType.Goodbye
    const proof: Proof = mustProve ? 'authentic' : signed ? 'signed' : macs ? 'cheap' : 'none'
    this.send(body, proof, this.config.multicast, this.groupTargets(now, extra, probe), proof === 'none' ? [] : this.macReceivers.keyed)
  }

  /** To one address by unicast only (direct messages and acks, point-to-point repair and probes), with a MAC for that peer when keyed. */
  private sendAlone(body: FrameBody, proof: Proof, to: Address, peer: Peer | undefined): void {
    this.send(body, proof, false, [to], peer?.macOut ? [peer.macOut] : [])
  }

  private send(body: FrameBody, proof: Proof, multicast: boolean, unicast: readonly Address[], receivers: readonly PairKey[]): void {
    if (this.stopped || (!multicast && unicast.length === 0)) return
    let signed = proof === 'signed'
    if (proof === 'authentic' && (receivers.length === 0 || this.unkeyedLiveFor(receivers) > 0)) signed = true
    const bytes = this.sealer.seal(body, signed, signed ? [] : receivers)
    this.datagramsSent.n++
    this.bytesSent.n += bytes.length
    if (unicast.length > 0) this.counters.add('unicast-copies', unicast.length)
    this.reach.sent(multicast)
    if (this.sealer.lastProof === 'macs') this.datagramsMaced.n++
    this.outbox.push({ bytes, multicast, unicast })
  }

  /** Live peers without a pair key, when `receivers` is the group list; 0 for one named peer. */
  private unkeyedLiveFor(receivers: readonly PairKey[]): number {
    return receivers === this.macReceivers.keyed ? this.macReceivers.unkeyedLive : 0
  }
}
