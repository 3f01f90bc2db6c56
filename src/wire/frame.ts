import { Encoder } from 'cbor-x'
import { fastRead, NOT_FAST } from './fast-read'
import { headBytes, MAJOR_BYTES, MAJOR_TEXT, writeHead } from './cbor-head'
import { uintBytes, utf8, writeUint } from './fast-write'
import { toPlainValue } from './plain-value'
import { DIGEST_BYTES, MessageType } from './constants'
import { REPORT_ENTRY_BYTES, REPORT_MAX_ENTRIES, validReport } from './receiver-report'

/**
 * Frames are CBOR arrays with positional fields, the cheapest self-describing form: a
 * heartbeat with a 12-character origin is about 40 bytes. Every frame starts with
 * [type, origin, incarnation, packet]; `packet` counts every datagram an incarnation sends
 * and is what replay protection checks.
 */
export interface FrameHeader {
  origin: string
  incarnation: number
  packet: number
}

export interface HeartbeatFrame extends FrameHeader {
  type: MessageType.Heartbeat
  seq: number
  digest: Uint8Array
  /** Ed25519 public key, present in signed heartbeats: how receivers learn and pin it. */
  publicKey: Uint8Array | null
  /** X25519 public key, also in signed heartbeats: receivers derive pair MAC keys from it. */
  dhKey: Uint8Array | null
  /**
   * Since protocol 3: datagrams this incarnation sent by unicast only (acks, direct messages,
   * peer lists) before this one, so `packet - unicastOnly` of its datagrams went to the group.
   * Usually 0: one byte.
   */
  unicastOnly: number
  /**
   * Since protocol 3: the receiver report, how much of each peer's multicast this node hears
   * ([flags][16-bit tag, ratio x 255]..., wire/receiver-report.ts, docs/PROTOCOL.md 13.2);
   * empty in heartbeats that carry none (it is sent on change and every 8th heartbeat).
   */
  report: Uint8Array
}

/** One datagram of a sequenced body; `index` of `count` fragments, base sequence = seq - index. */
export interface DataFrame extends FrameHeader {
  type: MessageType.Data
  seq: number
  index: number
  count: number
  chunk: Uint8Array
}

export interface NackFrame extends FrameHeader {
  type: MessageType.Nack
  target: string
  targetIncarnation: number
  /** Inclusive [first, last] pairs of missing sequence numbers. */
  ranges: Array<[number, number]>
  /** The receiver's state digest disagrees with the origin's: send a snapshot. */
  wantSnapshot: boolean
}

export interface PingFrame extends FrameHeader {
  type: MessageType.Ping
  target: string
}

export interface GoodbyeFrame extends FrameHeader {
  type: MessageType.Goodbye
}

export interface MessageFrame extends FrameHeader {
  type: MessageType.Message
  to: string
  messageId: number
  data: unknown
}

export interface AckFrame extends FrameHeader {
  type: MessageType.Ack
  to: string
  messageId: number
}

export interface PeersFrame extends FrameHeader {
  type: MessageType.Peers
  /** "ip:port" unicast addresses of live peers. */
  addresses: string[]
}

export type Frame = PeersFrame | HeartbeatFrame | DataFrame | NackFrame | PingFrame | GoodbyeFrame | MessageFrame | AckFrame

// Plain JS values only: no records or structured-clone tags, so other implementations can
// decode with any CBOR library. Maps decode as Maps (cbor-x would rename a "__proto__" member
// of an object): toPlainValue() turns them into plain objects.
export const cbor = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false } as ConstructorParameters<typeof Encoder>[0])

/** One CBOR item: the common shapes by wire/fast-read.ts, the rest (and every error) by cbor-x. */
export function decodeItem(bytes: Uint8Array): unknown {
  const value = fastRead(bytes)
  return value !== NOT_FAST ? value : cbor.decode(bytes)
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never
/** A frame as the engine builds it: origin, incarnation and packet number are the sealer's. */
export type FrameBody = DistributiveOmit<Frame, 'origin' | 'incarnation' | 'packet'>

export function encodeFrame(frame: Frame): Uint8Array {
  return encodeFrameAs(frame, frame.origin, frame.incarnation, frame.packet)
}

/** `body` under the given header: how the sealer encodes, with no merged frame object per datagram. */
export function encodeFrameAs(body: FrameBody, origin: string, incarnation: number, packet: number): Uint8Array {
  const { type } = body
  switch (body.type) {
    case MessageType.Heartbeat:
      return cbor.encode([type, origin, incarnation, packet, body.seq, body.digest, body.publicKey, body.dhKey, body.unicastOnly, body.report])
    case MessageType.Data:
      return encodeDataFrame(origin, incarnation, packet, body.seq, body.index, body.count, body.chunk)
    case MessageType.Nack:
      return cbor.encode([type, origin, incarnation, packet, body.target, body.targetIncarnation, body.ranges.flat(), body.wantSnapshot])
    case MessageType.Ping:
      return cbor.encode([type, origin, incarnation, packet, body.target])
    case MessageType.Goodbye:
      return cbor.encode([type, origin, incarnation, packet])
    case MessageType.Message:
      return cbor.encode([type, origin, incarnation, packet, body.to, body.messageId, body.data])
    case MessageType.Ack:
      return cbor.encode([type, origin, incarnation, packet, body.to, body.messageId])
    case MessageType.Peers:
      return cbor.encode([type, origin, incarnation, packet, body.addresses])
  }
}

/** The origin's UTF-8 bytes, the same on every datagram of a node: encoded once. */
let lastOrigin = ''
let lastOriginBytes: Uint8Array = new Uint8Array(0)

/**
 * The frame nearly every write is sent in, written in place by wire/fast-write.ts: the bytes
 * cbor-x gives for the same array (test/wire/fast-write.test.ts), one allocation and no copy
 * out of cbor-x's shared buffer.
 */
function encodeDataFrame(origin: string, incarnation: number, packet: number, seq: number, index: number, count: number, chunk: Uint8Array): Uint8Array {
  // Numbers no receiver accepts (fractions, negatives) are written as cbor-x writes them, so
  // they are refused as any other frame carrying them is, not truncated into valid ones.
  if (!(isUint(incarnation) && isUint(packet) && isUint(seq) && isUint(index) && isUint(count))) {
    return cbor.encode([MessageType.Data, origin, incarnation, packet, seq, index, count, chunk])
  }
  if (origin !== lastOrigin) {
    lastOriginBytes = utf8(origin)
    lastOrigin = origin
  }
  const id = lastOriginBytes
  const size = 2 + headBytes(id.length) + id.length + uintBytes(incarnation) + uintBytes(packet) + uintBytes(seq) + uintBytes(index) + uintBytes(count) + headBytes(chunk.length) + chunk.length
  const out = new Uint8Array(size)
  out[0] = 0x88 // an array of 8
  out[1] = MessageType.Data
  let at = writeHead(out, 2, MAJOR_TEXT, id.length)
  out.set(id, at)
  at += id.length
  at = writeUint(out, at, incarnation)
  at = writeUint(out, at, packet)
  at = writeUint(out, at, seq)
  at = writeUint(out, at, index)
  at = writeUint(out, at, count)
  at = writeHead(out, at, MAJOR_BYTES, chunk.length)
  out.set(chunk, at)
  return out
}

function isUint(n: number): boolean {
  return Number.isInteger(n) && n >= 0
}

/** Why a frame was refused; used as the drop counter's name. */
export class FrameError extends Error {
  constructor(readonly reason: string) {
    super(reason)
  }
}

const MAX_ID = 64
const MAX_RANGES = 64
/** 65535 fragments of an MTU-sized chunk is far beyond any state a node may hold. */
const MAX_FRAGMENTS = 65535
const MAX_PEER_ADDRESSES = 64

/** Decodes and checks every field; throws FrameError (never anything else) on bad input. */
export function decodeFrame(bytes: Uint8Array): Frame {
  let raw: unknown
  try {
    raw = decodeItem(bytes)
  } catch {
    throw new FrameError('malformed-cbor')
  }
  if (!Array.isArray(raw) || raw.length < 4) throw new FrameError('malformed-frame')
  const f = raw as unknown[]
  const type = f[0]
  // Each frame is built whole, field by field, not spread from a header object: one object
  // and one shape per type, on the path every datagram takes.
  const origin = id(f[1], 'origin'), incarnation = uint(f[2]), packet = uint(f[3])
  if (packet === 0) throw new FrameError('malformed-frame')
  switch (type) {
    case MessageType.Heartbeat: {
      expectLength(f, 10)
      const digest = bytesField(f[5], DIGEST_BYTES, DIGEST_BYTES)
      const publicKey = f[6] === null ? null : bytesField(f[6], 32, 32)
      const dhKey = f[7] === null ? null : bytesField(f[7], 32, 32)
      const unicastOnly = uint(f[8])
      if (unicastOnly >= packet) throw new FrameError('malformed-frame')
      const report = bytesField(f[9], 0, 1 + REPORT_ENTRY_BYTES * REPORT_MAX_ENTRIES)
      if (!validReport(report)) throw new FrameError('malformed-report')
      return { type, origin, incarnation, packet, seq: uint(f[4]), digest, publicKey, dhKey, unicastOnly, report }
    }
    case MessageType.Data: {
      expectLength(f, 8)
      const seq = uint(f[4]), index = uint(f[5]), count = uint(f[6])
      const chunk = f[7]
      const empty = chunk instanceof Uint8Array && chunk.length === 0
      if (count < 1 || count > MAX_FRAGMENTS || index >= count || index >= seq || (count > 1 && empty)) throw new FrameError('malformed-fragment')
      return { type, origin, incarnation, packet, seq, index, count, chunk: bytesField(f[7], 0, 65535) }
    }
    case MessageType.Nack: {
      expectLength(f, 8)
      const flat = f[6]
      if (!Array.isArray(flat) || flat.length % 2 !== 0 || flat.length === 0 || flat.length > MAX_RANGES * 2) {
        throw new FrameError('malformed-nack')
      }
      const ranges: Array<[number, number]> = []
      for (let i = 0; i < flat.length; i += 2) {
        const first = uint(flat[i]), last = uint(flat[i + 1])
        if (first < 1 || last < first) throw new FrameError('malformed-nack')
        ranges.push([first, last])
      }
      if (typeof f[7] !== 'boolean') throw new FrameError('malformed-nack')
      return { type, origin, incarnation, packet, target: id(f[4], 'target'), targetIncarnation: uint(f[5]), ranges, wantSnapshot: f[7] }
    }
    case MessageType.Ping:
      expectLength(f, 5)
      return { type, origin, incarnation, packet, target: id(f[4], 'target') }
    case MessageType.Goodbye:
      expectLength(f, 4)
      return { type, origin, incarnation, packet }
    case MessageType.Message: {
      expectLength(f, 7)
      const data = toPlainValue(f[6], 4 * bytes.length + 1024)
      if (!data.ok) throw new FrameError('malformed-value')
      return { type, origin, incarnation, packet, to: id(f[4], 'to'), messageId: uint(f[5]), data: data.value }
    }
    case MessageType.Ack:
      expectLength(f, 6)
      return { type, origin, incarnation, packet, to: id(f[4], 'to'), messageId: uint(f[5]) }
    case MessageType.Peers: {
      expectLength(f, 5)
      const list = f[4]
      if (!Array.isArray(list) || list.length > MAX_PEER_ADDRESSES) throw new FrameError('malformed-peers')
      for (const a of list) if (typeof a !== 'string' || !isIPv4Port(a)) throw new FrameError('malformed-peers')
      return { type, origin, incarnation, packet, addresses: list as string[] }
    }
    default:
      throw new FrameError('unknown-type')
  }
}

function isIPv4Port(text: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}):(\d{1,5})$/.exec(text)
  if (!m) return false
  const port = Number(m[5])
  return m.slice(1, 5).every((o) => Number(o) <= 255) && port >= 1 && port <= 65535
}

function expectLength(fields: unknown[], n: number): void {
  if (fields.length !== n) throw new FrameError('malformed-frame')
}

function uint(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new FrameError('malformed-number')
  return value
}

function id(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID) throw new FrameError(`malformed-${field}`)
  return value
}

function bytesField(value: unknown, min: number, max: number): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length < min || value.length > max) throw new FrameError('malformed-bytes')
  return value
}
