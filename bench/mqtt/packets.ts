// MQTT 3.1.1 packets the benchmark needs (OASIS MQTT 3.1.1, section 3): CONNECT, CONNACK,
// PUBLISH (QoS 0/1), PUBACK, SUBSCRIBE, SUBACK, PINGREQ/PINGRESP, DISCONNECT. A parser that
// never touches I/O, so the client stays a thin shell. Written here because `mqtt` is not a
// dependency of the project; it speaks to an unmodified Mosquitto broker.

export const enum PacketType {
  Connect = 1,
  Connack = 2,
  Publish = 3,
  Puback = 4,
  Subscribe = 8,
  Suback = 9,
  Pingreq = 12,
  Pingresp = 13,
  Disconnect = 14,
}

export type Packet =
  | { type: PacketType.Connack; returnCode: number }
  | { type: PacketType.Publish; qos: number; topic: string; packetId: number; payload: Buffer }
  | { type: PacketType.Puback; packetId: number }
  | { type: PacketType.Suback; packetId: number; granted: number[] }
  | { type: PacketType.Pingresp }
  | { type: PacketType.Pingreq }

function remainingLength(n: number): Buffer {
  const bytes: number[] = []
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    bytes.push(b)
  } while (n > 0)
  return Buffer.from(bytes)
}

function utf8(s: string): Buffer {
  const body = Buffer.from(s, 'utf8')
  const len = Buffer.alloc(2)
  len.writeUInt16BE(body.length)
  return Buffer.concat([len, body])
}

function packet(first: number, parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts)
  return Buffer.concat([Buffer.of(first), remainingLength(body.length), body])
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(n)
  return b
}

export function connect(clientId: string, keepaliveS: number): Buffer {
  // protocol name, level 4 (3.1.1), flags: clean session only.
  return packet(PacketType.Connect << 4, [utf8('MQTT'), Buffer.of(4, 0x02), u16(keepaliveS), utf8(clientId)])
}

export function subscribe(packetId: number, filters: string[], qos: number): Buffer {
  return packet((PacketType.Subscribe << 4) | 0x02, [u16(packetId), ...filters.flatMap((f) => [utf8(f), Buffer.of(qos)])])
}

export function publish(topic: string, payload: Buffer, qos: number, packetId: number): Buffer {
  const parts = [utf8(topic)]
  if (qos > 0) parts.push(u16(packetId))
  parts.push(payload)
  return packet((PacketType.Publish << 4) | (qos << 1), parts)
}

export function puback(packetId: number): Buffer {
  return Buffer.of(PacketType.Puback << 4, 2, packetId >> 8, packetId & 0xff)
}

export const PINGREQ = Buffer.of(PacketType.Pingreq << 4, 0)
export const DISCONNECT = Buffer.of(PacketType.Disconnect << 4, 0)

/** Splits a byte stream into packets; `push` returns every complete one. */
export class PacketParser {
  private buffer: Buffer = Buffer.alloc(0)

  push(chunk: Buffer): Packet[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
    const out: Packet[] = []
    for (;;) {
      if (this.buffer.length < 2) break
      let length = 0
      let multiplier = 1
      let i = 1
      let complete = false
      while (i < this.buffer.length && i <= 4) {
        const b = this.buffer[i++]
        length += (b & 0x7f) * multiplier
        multiplier *= 128
        if ((b & 0x80) === 0) {
          complete = true
          break
        }
      }
      if (!complete) {
        if (i > 4) throw new Error('malformed MQTT remaining length')
        break
      }
      if (this.buffer.length < i + length) break
      const first = this.buffer[0]
      const body = this.buffer.subarray(i, i + length)
      this.buffer = this.buffer.subarray(i + length)
      const p = decode(first, body)
      if (p) out.push(p)
    }
    return out
  }
}

function decode(first: number, body: Buffer): Packet | null {
  const type = first >> 4
  switch (type) {
    case PacketType.Connack:
      return { type, returnCode: body[1] }
    case PacketType.Publish: {
      const qos = (first >> 1) & 3
      const topicLength = body.readUInt16BE(0)
      const topic = body.toString('utf8', 2, 2 + topicLength)
      let at = 2 + topicLength
      let packetId = 0
      if (qos > 0) {
        packetId = body.readUInt16BE(at)
        at += 2
      }
      return { type, qos, topic, packetId, payload: Buffer.from(body.subarray(at)) }
    }
    case PacketType.Puback:
      return { type, packetId: body.readUInt16BE(0) }
    case PacketType.Suback:
      return { type, packetId: body.readUInt16BE(0), granted: [...body.subarray(2)] }
    case PacketType.Pingresp:
      return { type }
    case PacketType.Pingreq:
      return { type }
    default:
      return null
  }
}
