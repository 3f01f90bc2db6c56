// A minimal MQTT 3.1.1 client over one TCP connection, enough for the benchmark: publish
// at QoS 0 or 1 (packet ids, PUBACK counting), subscribe, answer the broker's QoS 1
// deliveries with PUBACK at once, and keep the connection alive as mqtt.js does (a PINGREQ
// after `keepaliveS` without sending anything; 60 s, mqtt.js's default).
import { EventEmitter } from 'node:events'
import * as net from 'node:net'
import * as pkt from './packets'
import { PacketType, type Packet } from './packets'

export interface MqttOptions {
  host: string
  port: number
  clientId: string
  keepaliveS?: number
  /** TCP_NODELAY on our socket. The broker keeps its own default (Nagle on). */
  noDelay?: boolean
}

export class MqttClient extends EventEmitter {
  private nextPacketId = 1
  private readonly parser = new pkt.PacketParser()
  private readonly waiting = new Map<string, (p: Packet) => void>()
  private pingTimer: NodeJS.Timeout | null = null
  private lastSentAt = Date.now()
  /** QoS 1 publishes not yet acknowledged by the broker. */
  unacked = 0
  published = 0
  received = 0

  private constructor(private readonly socket: net.Socket, private readonly keepaliveS: number) {
    super()
  }

  static async connect(options: MqttOptions): Promise<MqttClient> {
    const socket = net.connect({ host: options.host, port: options.port })
    socket.setNoDelay(options.noDelay ?? true)
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    const client = new MqttClient(socket, options.keepaliveS ?? 60)
    socket.on('data', (chunk: Buffer) => client.onData(chunk))
    socket.on('error', (err) => client.emit('error', err))
    socket.on('close', () => client.emit('close'))
    const connack = client.expect('connack')
    client.write(pkt.connect(options.clientId, client.keepaliveS))
    const reply = (await connack) as Extract<Packet, { type: PacketType.Connack }>
    if (reply.returnCode !== 0) throw new Error(`MQTT broker refused the connection: return code ${reply.returnCode}`)
    client.armPing()
    return client
  }

  async subscribe(filters: string[], qos: number): Promise<number[]> {
    const id = this.packetId()
    const suback = this.expect(`suback ${id}`)
    this.write(pkt.subscribe(id, filters, qos))
    return ((await suback) as Extract<Packet, { type: PacketType.Suback }>).granted
  }

  publish(topic: string, payload: Buffer, qos: number): void {
    const id = qos > 0 ? this.packetId() : 0
    if (qos > 0) this.unacked++
    this.published++
    this.write(pkt.publish(topic, payload, qos, id))
  }

  end(): void {
    if (this.pingTimer) clearTimeout(this.pingTimer)
    if (!this.socket.destroyed) this.socket.end(pkt.DISCONNECT)
  }

  private packetId(): number {
    const id = this.nextPacketId
    this.nextPacketId = id === 65535 ? 1 : id + 1
    return id
  }

  private write(bytes: Buffer): void {
    this.lastSentAt = Date.now()
    this.socket.write(bytes)
  }

  private expect(what: string): Promise<Packet> {
    return new Promise((resolve) => this.waiting.set(what, resolve))
  }

  private settle(what: string, p: Packet): void {
    const resolve = this.waiting.get(what)
    if (!resolve) return
    this.waiting.delete(what)
    resolve(p)
  }

  private armPing(): void {
    const due = this.lastSentAt + this.keepaliveS * 1000
    this.pingTimer = setTimeout(() => {
      if (Date.now() >= this.lastSentAt + this.keepaliveS * 1000) this.write(pkt.PINGREQ)
      this.armPing()
    }, Math.max(10, due - Date.now()))
    this.pingTimer.unref()
  }

  private onData(chunk: Buffer): void {
    for (const p of this.parser.push(chunk)) {
      switch (p.type) {
        case PacketType.Connack:
          this.settle('connack', p)
          break
        case PacketType.Suback:
          this.settle(`suback ${p.packetId}`, p)
          break
        case PacketType.Puback:
          this.unacked--
          this.emit('puback', p.packetId)
          break
        case PacketType.Publish:
          this.received++
          if (p.qos === 1) this.write(pkt.puback(p.packetId))
          this.emit('message', p.topic, p.payload)
          break
        default:
          break
      }
    }
  }
}
