import { randomBytes } from 'node:crypto'
import { lookup } from 'node:dns/promises'
import { EventEmitter } from 'node:events'
import { performance } from 'node:perf_hooks'
import { parseHostPort, resolveConfig, type DsnConfig, type DsnOptions } from '../config'
import { Engine } from '../core/engine'
import type { Outgoing, RandomSource } from '../core/types'
import type { PeerPathView } from '../core/path-choice'
import type { MdnsDiscovery } from '../discovery/mdns'
import { DsnError } from '../errors'
import { chooseInterface, type ChosenInterface } from '../net/interfaces'
import { UdpTransport } from '../net/udp-transport'
import { loadOrCreateIdentity } from '../seal/identity'
import { PROTOCOL_VERSION } from '../wire/constants'
import type { DsnNodeApi, RestoreReport } from './api'
import { loadPinned, nextIncarnation, savePinned } from './credentials'
import type { NodeStatus, PeerStatus } from './events'
import { HealthMonitor, type HealthSample } from './health-monitor'
import { restoreOwnState, StateSaver } from './own-state-file'

/** Datagrams handed to the kernel and not yet sent, past which repair datagrams are shed: a
 * backlog this long means the host cannot send what it has, and fresh writes matter more. */
const SEND_QUEUE_SHED_REPAIR = 256

const systemRandom: RandomSource = { next: Math.random, bytes: (n) => new Uint8Array(randomBytes(n)) }

/**
 * A node of the mesh: the engine (all protocol decisions) plus the real world around it,
 * i.e. UDP sockets, one timer armed at the engine's next deadline, mDNS and the credential dir.
 */
export class DSNode extends EventEmitter implements DsnNodeApi {
  private timer: NodeJS.Timeout | null = null
  private armedFor = Infinity
  private immediate: NodeJS.Immediate | null = null
  private readonly pendingSends = new Map<number, { resolve: () => void; reject: (err: Error) => void }>()
  private readonly onSendError = (): void => this.engine.counters.add('send-errors')
  private stopping: Promise<void> | null = null
  private mdns: MdnsDiscovery | null = null
  private saver: StateSaver | null = null
  private health: HealthMonitor | null = null
  restored: RestoreReport | undefined
  /** "address:" of our interface, and our unicast socket's address: see onDatagram. */
  private readonly hostPrefix: string
  private readonly ownAddress: string

  private constructor(
    private readonly engine: Engine,
    private transport: UdpTransport | null,
    readonly config: DsnConfig,
    readonly publicKey: string,
    private readonly iface: ChosenInterface,
  ) {
    super()
    this.hostPrefix = `${iface.address}:`
    this.ownAddress = `${iface.address}:${transport?.unicastPort ?? 0}`
  }

  static async start(options: DsnOptions): Promise<DSNode> {
    const config = resolveConfig(options)
    const identity = loadOrCreateIdentity(config.credentialDir)
    const iface = chooseInterface(config.interface)
    const staticPeers = await Promise.all(config.staticPeers.map(resolvePeer))
    let node: DSNode | undefined
    const transport = await UdpTransport.open(
      { group: config.group, port: config.port, unicastPort: config.unicastPort, interfaceAddress: iface.address, multicast: config.multicast },
      (bytes, from, via) => node?.onDatagram(bytes, from, via),
      (err) => node?.emitError(err),
    )
    // One list for every node (as a playbook deploys it) names this node too: not a peer.
    const ownAddress = `${iface.address}:${transport.unicastPort}`
    const engine = new Engine({
      config,
      signer: identity.signer,
      incarnation: nextIncarnation(config.credentialDir, Date.now()),
      now: performance.now(),
      random: systemRandom,
      pinned: loadPinned(config.credentialDir),
      staticPeers: staticPeers.filter((address) => address !== ownAddress),
      wallClockOffset: () => Date.now() - performance.now(),
    })
    // Known for sure, so peer lists naming it never make it a candidate (without multicast
    // loopback the engine would otherwise learn it only from a datagram unicast to ourselves).
    engine.unicast.noteOwn(ownAddress)
    node = new DSNode(engine, transport, config, identity.publicKeyHex, iface)
    if (config.persistPath !== undefined) {
      // Before the first pump: the restored values go out in the new incarnation's first datagrams.
      node.restored = restoreOwnState(engine, config.persistPath)
      node.saver = new StateSaver(engine, config.persistPath, config.persistIntervalMs, (err) => node?.emitError(err))
    }
    if (config.mdns) await node.startMdns(transport.unicastPort)
    const groupPort = config.multicast ? config.port : null
    node.health = new HealthMonitor(transport.ports, () => engine.counters.get('bytes-received'), (sample) => node?.onHealth(sample), groupPort)
    node.health.start()
    node.pump()
    return node
  }

  get nodeId(): string {
    return this.config.nodeId
  }

  set(key: string, value: unknown): void {
    this.engine.set(key, value)
    this.saver?.changed()
    this.schedule()
  }

  get(nodeId: string, key: string): unknown {
    return this.engine.get(nodeId, key)
  }

  delete(key: string): boolean {
    const deleted = this.engine.delete(key)
    if (deleted) {
      this.saver?.changed()
      this.schedule()
    }
    return deleted
  }

  state(nodeId: string): Readonly<Record<string, unknown>> | undefined {
    return this.engine.state(nodeId)
  }

  peers(): string[] {
    return [this.nodeId, ...this.engine.livePeers().map((p) => p.nodeId)].sort()
  }

  send(nodeId: string, data: unknown): Promise<void> {
    try {
      const id = this.engine.sendMessage(nodeId, data, performance.now())
      const acked = new Promise<void>((resolve, reject) => this.pendingSends.set(id, { resolve, reject }))
      this.pump()
      return acked
    } catch (err) {
      return Promise.reject(err)
    }
  }

  status(): NodeStatus {
    const now = performance.now()
    const e = this.engine
    return {
      nodeId: this.nodeId,
      cluster: this.config.cluster,
      incarnation: e.incarnation,
      publicKey: this.publicKey,
      seq: e.stream.seq,
      keys: e.own.size,
      unicastAddress: `${this.iface.address}:${this.transport?.unicastPort ?? 0}`,
      multicast: this.config.multicast ? { group: this.config.group, port: this.config.port, interface: this.iface.name, loopback: this.transport?.loopback ?? false } : null,
      peers: e.livePeers().map((p) => ({
        ...pathStatus(e.reach.view(p.nodeId, now), now),
        nodeId: p.nodeId,
        incarnation: p.incarnation,
        address: p.address,
        contiguousSeq: p.replica?.gaps.contiguous ?? 0,
        latestSeq: Math.max(p.originSeq, p.replica?.gaps.latest ?? 0),
        keys: p.replica?.size ?? 0,
        lastHeardMsAgo: Math.round(now - p.lastHeardAt),
        publicKey: Buffer.from(p.publicKey).toString('hex'),
      })),
      counters: { ...e.counters.toJSON(), ...(this.mdns ? prefixed('mdns', { ...this.mdns.stats }) : {}) },
      uptimeMs: Math.round(now - e.startedAt),
    }
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown()
    return this.stopping
  }

  private async shutdown(): Promise<void> {
    this.health?.stop()
    this.saver?.flush()
    this.engine.stop(performance.now())
    this.pump()
    if (this.timer) clearTimeout(this.timer)
    if (this.immediate) clearImmediate(this.immediate)
    for (const pending of this.pendingSends.values()) pending.reject(new DsnError('DSN_STOPPED', 'the node was stopped before the message was acknowledged'))
    this.pendingSends.clear()
    await this.transport?.drained()
    await this.mdns?.stop()
    await this.transport?.close()
    this.transport = null
  }

  private async startMdns(unicastPort: number): Promise<void> {
    // Lazy: mDNS (dns-packet, multicast-dns: about 40 KB of code) is evaluated only when enabled.
    const { MdnsDiscovery } = require('../discovery/mdns') as typeof import('../discovery/mdns')
    const mdns = new MdnsDiscovery(
      { nodeId: this.nodeId, cluster: this.config.cluster, protocolVersion: PROTOCOL_VERSION, port: unicastPort },
      { interfaceAddress: this.iface.address === '127.0.0.1' ? undefined : this.iface.address },
    )
    mdns.on('peer', (peer) => {
      if (peer.cluster !== this.config.cluster || peer.protocolVersion !== PROTOCOL_VERSION || peer.nodeId === this.nodeId) return
      this.engine.addCandidate(`${peer.host}:${peer.port}`, performance.now())
      this.schedule()
    })
    mdns.on('error', (err: Error) => this.emitError(err))
    await mdns.start()
    this.mdns = mdns
  }

  /** What the process suffered (loop lag, kernel drops, receive backlog): counted, and told to the engine's local health. */
  private onHealth(sample: HealthSample): void {
    // A socket on the group port besides ours (a node on this host that may not hear us yet),
    // or a count that does not even show ours (the kernel's table cannot tell): loop back.
    if (sample.groupSockets !== undefined && sample.groupSockets !== 1) this.transport?.enableLoopback()
    if (sample.kernelDrops > 0) this.engine.counters.add('kernel-drops', sample.kernelDrops)
    this.engine.noteHealth(sample, performance.now())
    this.schedule()
  }

  private onDatagram(bytes: Uint8Array, from: string, via: 'multicast' | 'unicast'): void {
    // From our own address but not our socket: another node on this host, which hears our
    // multicast only while it is looped back (udp-transport.ts).
    if (this.transport?.loopback === false && from.startsWith(this.hostPrefix) && from !== this.ownAddress) this.transport.enableLoopback()
    const now = performance.now()
    this.engine.receive(bytes, from, via, now)
    // Pumped at once rather than from setImmediate: the datagram's events reach listeners in
    // the callback that read it, without a second trip through the event loop per datagram
    // (an Immediate, the idle handle on and off, one more native-to-JS call: bench/NOTES.md).
    // Unless a pump is already due this turn (a set() made earlier, by a listener too): it
    // takes these events along, and the turn's writes still leave as one delta.
    if (!this.engine.isStopped && !this.immediate) this.pump(now)
  }

  /** Coalesces everything that happens in one turn of the event loop into one pump. */
  private schedule(): void {
    if (this.immediate || this.engine.isStopped) return
    this.immediate = setImmediate(() => {
      this.immediate = null
      this.pump()
    })
  }

  /** Runs due timers, sends what the engine produced, emits its events, re-arms the one timer. */
  private pump(now = performance.now()): void {
    if (this.engine.nextDeadline() <= now) this.engine.tick(now)
    const { outgoing, events } = this.engine.take()
    const transport = this.transport
    if (transport && outgoing.length > 0) this.transmit(transport, outgoing)
    for (const e of events) {
      if (e.type === 'pin') this.persistPins()
      else if (e.type === 'message-acked') this.settleSend(e.messageId)
      else if (e.type === 'message-failed') this.settleSend(e.messageId, new DsnError('DSN_SEND_TIMEOUT', `"${e.nodeId}" did not acknowledge the message`))
      else this.emit(e.type, e.event)
    }
    this.arm()
  }

  /**
   * Fresh data first, repair after it; and when the kernel has not taken what we queued
   * before, repair is shed (the receivers' NACKs come again) rather than delaying writes.
   */
  private transmit(transport: UdpTransport, outgoing: readonly Outgoing[]): void {
    const shed = transport.backlog > SEND_QUEUE_SHED_REPAIR
    let repairs = 0
    for (const out of outgoing) {
      if (out.repair) repairs++
      else transport.send(out, this.onSendError)
    }
    if (repairs === 0) return
    if (shed) this.engine.counters.add('repair-shed', repairs)
    else for (const out of outgoing) if (out.repair) transport.send(out, this.onSendError)
  }

  /** Re-arms the one timer only when the deadline moved: most datagrams leave it where it was. */
  private arm(): void {
    const deadline = this.engine.nextDeadline()
    if (this.timer && deadline === this.armedFor) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.armedFor = deadline
    if (deadline === Infinity) return
    // +1 ms: setTimeout may fire a fraction early, which would find nothing due yet.
    this.timer = setTimeout(() => {
      this.timer = null
      this.pump()
    }, Math.max(0, Math.ceil(deadline - performance.now())) + 1)
  }

  private settleSend(id: number, err?: Error): void {
    const pending = this.pendingSends.get(id)
    if (!pending) return
    this.pendingSends.delete(id)
    if (err) pending.reject(err)
    else pending.resolve()
  }

  private persistPins(): void {
    try {
      savePinned(this.config.credentialDir, this.engine.pinned)
    } catch (err) {
      this.emitError(new DsnError('DSN_IDENTITY', `cannot save pinned keys in ${this.config.credentialDir}: ${(err as Error).message}`))
    }
  }

  private emitError(err: Error): void {
    // 'error' without a listener would throw out of the event loop: count it instead.
    this.engine.counters.add('errors')
    if (this.listenerCount('error') > 0) this.emit('error', err)
  }
}

async function resolvePeer(text: string): Promise<string> {
  const parsed = parseHostPort(text) as { host: string; port: number }
  try {
    const { address } = await lookup(parsed.host, { family: 4 })
    return `${address}:${parsed.port}`
  } catch (err) {
    throw new DsnError('DSN_BAD_CONFIG', `config.staticPeers: cannot resolve "${parsed.host}": ${(err as Error).message}`)
  }
}

function prefixed(prefix: string, values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [`${prefix}.${k}`, v]))
}

/** A peer's path as `status()` shows it; a peer not sent to yet has had no path decision: multicast alone. */
function pathStatus(view: PeerPathView | undefined, now: number): Pick<PeerStatus, 'path' | 'multicastOut' | 'multicastIn' | 'pathChangedMsAgo'> {
  const round = (r: number | null) => (r === null ? null : Math.round(r * 1000) / 1000)
  if (!view) return { path: 'multicast', multicastOut: null, multicastIn: null, pathChangedMsAgo: 0 }
  return { path: view.path, multicastOut: round(view.outRatio), multicastIn: round(view.inRatio), pathChangedMsAgo: Math.round(now - view.changedAt) }
}
