// The two stand-ins the benchmark runs beside DSNode, behind the same small surface (set,
// get, state, peers, status, 'update' events), so every scenario drives all three alike:
//  - FloorStore: a bare multicast relay, plain JSON over dgram, no crypto, no repair, no
//    membership. What Node and the machine cost by themselves.
//  - MqttStore: every write is a PUBLISH to `b/<nodeId>/<key>` on a Mosquitto broker; each node
//    subscribes to every other node's `b/<id>/#` and keeps what it receives. The client is MQTT.js
//    at its defaults (60 s keepalive, Nagle left on as MQTT.js leaves it), what Node users run.
import { createHash, randomBytes } from 'node:crypto'
import * as dgram from 'node:dgram'
import { EventEmitter } from 'node:events'
import * as mqtt from 'mqtt'
import { open, seal } from '../../src/seal/envelope'
import { deriveNetworkKey, type NetworkKey } from '../../src/seal/keys'
import { derivePairKey, hasOurMac, macTrailer, type PairKey } from '../../src/seal/pair-keys'

export interface BenchUpdate {
  nodeId: string
  key: string
  value: unknown
  deleted: boolean
}

export interface Store extends EventEmitter {
  readonly nodeId: string
  set(key: string, value: unknown): void
  delete(key: string): boolean
  get(nodeId: string, key: string): unknown
  state(nodeId: string): Readonly<Record<string, unknown>> | undefined
  peers(): string[]
  status(): Record<string, unknown>
  stop(): Promise<void>
}

class Replicas {
  readonly own = new Map<string, unknown>()
  readonly others = new Map<string, Map<string, unknown>>()

  get(self: string, nodeId: string, key: string): unknown {
    return nodeId === self ? this.own.get(key) : this.others.get(nodeId)?.get(key)
  }

  state(self: string, nodeId: string): Record<string, unknown> | undefined {
    const map = nodeId === self ? this.own : this.others.get(nodeId)
    return map ? Object.fromEntries(map) : undefined
  }

  put(nodeId: string, key: string, value: unknown): void {
    let map = this.others.get(nodeId)
    if (!map) this.others.set(nodeId, (map = new Map()))
    if (value === undefined) map.delete(key)
    else map.set(key, value)
  }
}

export interface FloorOptions {
  nodeId: string
  group: string
  port: number
  interfaceAddress: string
  /** The secure floor: every datagram sealed (ChaCha20-Poly1305) with one MAC per peer, as DSN. */
  secure?: { networkKey: string; peers: string[] }
}

/** The crypto DSN pays per datagram, around the floor's JSON: what our security design costs. */
class FloorCrypto {
  private readonly key: NetworkKey
  private readonly cluster = new TextEncoder().encode('bench')
  private readonly nonce = new Uint8Array(12)
  private counter = 0
  private readonly out: PairKey[]
  private readonly inbound = new Map<string, PairKey>()

  constructor(nodeId: string, options: NonNullable<FloorOptions['secure']>) {
    this.key = deriveNetworkKey(options.networkKey, 'bench')
    this.nonce.set(randomBytes(8))
    // Pair keys from a per-pair secret instead of X25519: the per-datagram cost is the same.
    const pair = (a: string, b: string) => derivePairKey(createHash('sha256').update([a, b].sort().join('/')).digest(), 'bench', Buffer.from(a), Buffer.from(b))
    const others = options.peers.filter((p) => p !== nodeId)
    this.out = others.map((p) => pair(nodeId, p))
    for (const p of others) this.inbound.set(p, pair(p, nodeId))
  }

  seal(payload: Uint8Array): Uint8Array {
    new DataView(this.nonce.buffer).setUint32(8, ++this.counter)
    return seal(this.key, this.cluster, this.nonce, payload, null, macTrailer(this.out, payload))
  }

  /** Frame and MAC entries, or null when the datagram does not open. */
  open(datagram: Uint8Array): { frame: Uint8Array; macs: Uint8Array } | null {
    const opened = open([this.key], this.cluster, datagram)
    return opened.ok && opened.value.macs ? { frame: opened.value.frame, macs: opened.value.macs } : null
  }

  /** Our MAC from `origin` checks (origin read from the frame, as DSN does). */
  check(origin: string, opened: { frame: Uint8Array; macs: Uint8Array }): boolean {
    const pair = this.inbound.get(origin)
    return pair !== undefined && hasOurMac(pair, opened.frame, opened.macs)
  }
}

export class FloorStore extends EventEmitter implements Store {
  private readonly data = new Replicas()
  private readonly crypto: FloorCrypto | null
  sent = 0
  received = 0

  private constructor(readonly nodeId: string, private readonly socket: dgram.Socket, private readonly options: FloorOptions) {
    super()
    this.crypto = options.secure ? new FloorCrypto(nodeId, options.secure) : null
    socket.on('message', (msg) => this.onMessage(msg))
  }

  static async start(options: FloorOptions): Promise<FloorStore> {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true })
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(options.port, () => resolve())
    })
    socket.addMembership(options.group, options.interfaceAddress)
    socket.setMulticastInterface(options.interfaceAddress)
    socket.setMulticastTTL(1)
    socket.setMulticastLoopback(false)
    return new FloorStore(options.nodeId, socket, options)
  }

  set(key: string, value: unknown): void {
    this.data.own.set(key, value)
    this.sent++
    this.socket.send(this.wrap(JSON.stringify({ o: this.nodeId, k: key, v: value })), this.options.port, this.options.group)
    this.emit('update', { nodeId: this.nodeId, key, value, deleted: false })
  }

  delete(key: string): boolean {
    if (!this.data.own.delete(key)) return false
    this.socket.send(this.wrap(JSON.stringify({ o: this.nodeId, k: key })), this.options.port, this.options.group)
    return true
  }

  get(nodeId: string, key: string): unknown {
    return this.data.get(this.nodeId, nodeId, key)
  }

  state(nodeId: string): Record<string, unknown> | undefined {
    return this.data.state(this.nodeId, nodeId)
  }

  peers(): string[] {
    return [this.nodeId, ...this.data.others.keys()].sort()
  }

  status(): Record<string, unknown> {
    return { nodeId: this.nodeId, counters: { 'datagrams-sent': this.sent, 'datagrams-received': this.received } }
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()))
  }

  private wrap(json: string): Uint8Array {
    const bytes = Buffer.from(json)
    return this.crypto ? this.crypto.seal(bytes) : bytes
  }

  private onMessage(msg: Buffer): void {
    this.received++
    const opened = this.crypto ? this.crypto.open(msg) : null
    if (this.crypto && !opened) return
    const payload = opened ? opened.frame : msg
    const { o, k, v } = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('utf8')) as { o: string; k: string; v?: unknown }
    if (this.crypto && opened && o !== this.nodeId && !this.crypto.check(o, opened)) return
    if (o === this.nodeId) return
    this.data.put(o, k, v)
    this.emit('update', { nodeId: o, key: k, value: v, deleted: v === undefined })
  }
}

export interface MqttStoreOptions {
  nodeId: string
  host: string
  port: number
  qos: number
  /** Node ids whose topics this node subscribes to (itself excluded). */
  peers: string[]
}

/** Payloads as a sensor script would send them: numbers and strings as their text. */
function encodePayload(value: unknown): Buffer {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8')
}

function decodePayload(payload: Buffer): unknown {
  const text = payload.toString('utf8')
  return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text
}

export class MqttStore extends EventEmitter implements Store {
  private readonly data = new Replicas()
  private published = 0
  private received = 0
  /** QoS 1 publishes not yet acknowledged by the broker. */
  private unacked = 0

  private constructor(readonly nodeId: string, private readonly client: mqtt.MqttClient, private readonly qos: 0 | 1) {
    super()
    client.on('message', (topic: string, payload: Buffer) => this.onMessage(topic, payload))
    client.on('error', (err: Error) => this.emit('error', err))
  }

  static async start(options: MqttStoreOptions): Promise<MqttStore> {
    // No reconnect: a broker lost mid-run must fail the run, not be papered over.
    const client = await mqtt.connectAsync({ host: options.host, port: options.port, protocol: 'mqtt', clientId: options.nodeId, reconnectPeriod: 0 })
    const qos = options.qos === 0 ? 0 : 1
    const filters = options.peers.filter((p) => p !== options.nodeId).map((p) => `b/${p}/#`)
    if (filters.length > 0) await client.subscribeAsync(filters, { qos })
    return new MqttStore(options.nodeId, client, qos)
  }

  set(key: string, value: unknown): void {
    this.data.own.set(key, value)
    this.publish(`b/${this.nodeId}/${key}`, encodePayload(value))
    this.emit('update', { nodeId: this.nodeId, key, value, deleted: false })
  }

  delete(key: string): boolean {
    if (!this.data.own.delete(key)) return false
    this.publish(`b/${this.nodeId}/${key}`, Buffer.alloc(0))
    return true
  }

  get(nodeId: string, key: string): unknown {
    return this.data.get(this.nodeId, nodeId, key)
  }

  state(nodeId: string): Record<string, unknown> | undefined {
    return this.data.state(this.nodeId, nodeId)
  }

  peers(): string[] {
    return [this.nodeId, ...this.data.others.keys()].sort()
  }

  status(): Record<string, unknown> {
    return { nodeId: this.nodeId, counters: { published: this.published, received: this.received, unacked: this.unacked } }
  }

  async stop(): Promise<void> {
    await this.client.endAsync()
  }

  private publish(topic: string, payload: Buffer): void {
    this.published++
    if (this.qos > 0) this.unacked++
    this.client.publish(topic, payload, { qos: this.qos }, (err) => {
      if (this.qos > 0 && !err) this.unacked--
      if (err) this.emit('error', err)
    })
  }

  private onMessage(topic: string, payload: Buffer): void {
    this.received++
    const [, nodeId, ...rest] = topic.split('/')
    const key = rest.join('/')
    const value = payload.length === 0 ? undefined : decodePayload(payload)
    this.data.put(nodeId, key, value)
    this.emit('update', { nodeId, key, value, deleted: value === undefined })
  }
}
