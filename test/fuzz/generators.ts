// The fuzzer's datagram generators, one per category. Each returns one datagram to feed to
// the victim's receive path. Not a test itself.
import { deltaBody, Insider, freshSigner } from './forge'
import { Dice, hostileCbor, junkValue, stateValue } from './values'
import { HONEST, VICTIM, type World } from './world'
import { MAC_ENTRY_BYTES, seal } from '../../src/seal/envelope'
import { deriveNetworkKey } from '../../src/seal/keys'
import type { Signer } from '../../src/seal/signer'
import { BodyKind, MessageType, PROTOCOL_VERSION } from '../../src/wire/constants'
import { cbor, encodeFrame, type Frame } from '../../src/wire/frame'

/** Categories and their share of the stream. `insider-*` and `impostor` carry valid AEAD. */
export const CATEGORIES = {
  random: 0.14,
  mutation: 0.26,
  'wrong-key': 0.06,
  replay: 0.1,
  'malformed-frame': 0.12,
  'insider-unsigned': 0.08,
  'insider-signed': 0.12,
  impostor: 0.06,
  'forged-macs': 0.06,
} as const
export type Category = keyof typeof CATEGORIES

/** Categories whose every datagram must be refused and counted as a drop. */
export const MUST_DROP: ReadonlySet<Category> = new Set(['random', 'mutation', 'wrong-key', 'malformed-frame', 'forged-macs'])

const CHUNK = 1200
const MAX_SAFE = Number.MAX_SAFE_INTEGER

interface InsiderStream {
  insider: Insider
  seq: number
  /** Fragments of a legit body not yet sent, in the order they will go out. */
  pending: Uint8Array[]
  sent: Uint8Array[]
}

export class Generators {
  private readonly d: Dice
  private readonly streams: InsiderStream[]
  private readonly impostorSigners: Signer[]
  private readonly wrongKeys = Array.from({ length: 4 }, (_, i) => deriveNetworkKey(String(i + 1).repeat(64), 'default'))
  private readonly otherCluster = deriveNetworkKey('a'.repeat(64), 'other-cluster')
  private readonly cluster = new TextEncoder().encode('default')
  private readonly stranger: Insider
  /** Recent valid insider datagrams, replayed later. */
  private readonly recent: Uint8Array[] = []

  private readonly corpusByLength = new Map<number, Uint8Array[]>()

  constructor(private readonly world: World, dice: Dice) {
    this.d = dice
    for (const c of world.corpus) this.corpusByLength.set(c.length, [...(this.corpusByLength.get(c.length) ?? []), c])
    this.streams = world.insiders.map((insider) => ({ insider, seq: 0, pending: [], sent: [] }))
    this.impostorSigners = Array.from({ length: 6 }, () => freshSigner(dice.random))
    this.stranger = new Insider({ nodeId: 'stranger', incarnation: 1, signer: this.impostorSigners[0], random: dice.random })
  }

  /** Where a datagram comes from: anywhere for junk, one of a few hosts for members. */
  source(category: Category): string {
    const d = this.d
    if (MUST_DROP.has(category)) return `${d.int(256)}.${d.int(256)}.${d.int(256)}.${d.int(256)}:${d.int(65536)}`
    return `10.0.0.${100 + d.int(8)}:${d.pick([47474, 47475, 40000 + d.int(8)])}`
  }

  generate(category: Category): Uint8Array {
    switch (category) {
      case 'random': return this.random()
      case 'mutation': return this.mutation()
      case 'wrong-key': return this.wrongKey()
      case 'replay': return this.replay()
      case 'malformed-frame': return this.malformedFrame()
      case 'insider-unsigned': return this.remember(this.insiderUnsigned())
      case 'insider-signed': return this.remember(this.insiderSigned())
      case 'impostor': return this.impostor()
      case 'forged-macs': return this.forgedMacs()
    }
  }

  /** A signed heartbeat from every insider: keeps them up at the victim. */
  heartbeats(): Uint8Array[] {
    return this.streams.map((s) => s.insider.heartbeat(s.seq))
  }

  private remember(bytes: Uint8Array): Uint8Array {
    if (this.recent.length >= 512) this.recent[this.d.int(512)] = bytes
    else this.recent.push(bytes)
    return bytes
  }

  private corpusItem(): Uint8Array {
    return this.d.pick(this.world.corpus)
  }

  // ---- outsiders: no key ----

  private random(): Uint8Array {
    const d = this.d
    const r = d.next()
    if (r < 0.2) return d.bytes(d.int(32))
    if (r < 0.5) return d.bytes(d.range(44, 1600))
    if (r < 0.95) return Buffer.concat([Buffer.of(PROTOCOL_VERSION, this.world.keyId), d.bytes(d.range(30, 1500))]) // reaches the AEAD
    return d.bytes(d.range(1913, 9000)) // over mtu + 512
  }

  /** A captured datagram, changed: never equal to any datagram that was really sent. */
  private mutation(): Uint8Array {
    const out = this.mutate(Buffer.from(this.corpusItem()))
    // A splice can give back a whole real datagram (e.g. an empty prefix): change it.
    if (this.corpusByLength.get(out.length)?.some((c) => Buffer.compare(c, out) === 0)) out[out.length - 1] ^= 1
    return out
  }

  private mutate(b: Buffer): Buffer {
    const d = this.d
    switch (d.int(7)) {
      case 0: {
        for (let i = d.range(1, 8); i > 0; i--) b[d.int(b.length)] ^= 1 << d.int(8)
        return b
      }
      case 1: return b.subarray(0, d.int(b.length))
      case 2: return Buffer.concat([b, d.bytes(d.range(1, 200))])
      case 3: {
        const other = this.corpusItem()
        return Buffer.concat([b.subarray(0, d.int(b.length)), other.subarray(d.int(other.length))])
      }
      case 4: {
        b[d.int(2)] = d.int(256)
        return b
      }
      case 5: {
        // Flip one bit in the ciphertext tail, where the tag lives.
        b[b.length - 1 - d.int(16)] ^= 1 << d.int(8)
        return b
      }
      default: {
        const i = d.int(b.length), j = d.int(b.length)
        ;[b[i], b[j]] = [b[j], b[i]]
        if (b[i] === b[j]) b[i] ^= 0xff
        return b
      }
    }
  }

  /**
   * An insider claims an honest, keyed origin with receiver MACs it cannot compute: 1 to 24
   * guessed entries, or a junk trailer whose length need not split into entries. Always refused.
   */
  private forgedMacs(): Uint8Array {
    const d = this.d
    const honest = d.pick(this.world.honest)
    const head = { origin: honest.nodeId, incarnation: honest.engine.incarnation, packet: honest.engine.sealer.lastPacket + 1 + d.int(50) }
    const frames: Frame[] = [
      { type: MessageType.Data, ...head, seq: honest.engine.stream.seq + 1, index: 0, count: 1, chunk: deltaBody({ mine: 'forged' }) },
      { type: MessageType.Goodbye, ...head },
      { type: MessageType.Message, ...head, to: VICTIM, messageId: d.int(1000), data: 'forged' },
      { type: MessageType.Ack, ...head, to: VICTIM, messageId: d.int(1000) },
    ]
    const frame = encodeFrame(d.pick(frames))
    const trailer = d.chance(0.15) ? d.bytes(d.int(20)) : d.bytes((1 + d.int(24)) * MAC_ENTRY_BYTES)
    return seal(deriveNetworkKey('a'.repeat(64), 'default'), this.cluster, d.bytes(12), frame, null, trailer)
  }

  /** A real frame re-sealed under a key the victim does not hold, or for another cluster. */
  private wrongKey(): Uint8Array {
    const d = this.d
    const { frame, signature } = d.pick(this.world.openedCorpus)
    if (d.chance(0.25)) return seal(this.otherCluster, new TextEncoder().encode('other-cluster'), d.bytes(12), frame, signature)
    const key = d.pick(this.wrongKeys)
    const out = seal(key, this.cluster, d.bytes(12), frame, signature)
    // Claim the victim's key id half the time, so the AEAD itself must refuse it.
    if (d.chance(0.5)) out[1] = this.world.keyId
    return out
  }

  private replay(): Uint8Array {
    if (this.recent.length > 0 && this.d.chance(0.4)) return this.d.pick(this.recent)
    return this.corpusItem()
  }

  // ---- insiders: the network key ----

  /** Sealed with the right key, but the frame inside does not decode. */
  private malformedFrame(): Uint8Array {
    const d = this.d
    let frame: Uint8Array
    const r = d.int(6)
    if (r === 0) frame = hostileCbor(d)
    else if (r === 1) frame = d.bytes(d.int(300))
    else if (r === 2) frame = cbor.encode(junkValue(d))
    else {
      // Frame-shaped: a valid header and fields, one of them replaced by junk or dropped.
      const base = this.validFrame(d.pick(['victim-peer', 'stranger'] as const))
      const fields = cbor.decode(encodeFrame(base)) as unknown[]
      const i = d.int(fields.length + 1)
      if (i === fields.length) fields.push(junkValue(d))
      else if (d.chance(0.2)) fields.splice(i, 1)
      else fields[i] = junkValue(d)
      if (i === 0 && d.chance(0.5)) fields[0] = d.pick([0, 8, 9, 255, -1])
      frame = cbor.encode(fields)
      // Junk can happen to be valid (a random value where any is allowed, e.g. message data).
      if (this.decodes(frame)) frame = cbor.encode([...fields, 'extra'])
    }
    return this.stranger.raw(frame, d.chance(0.3))
  }

  private decodes(frame: Uint8Array): boolean {
    try {
      const f = cbor.decode(frame)
      return Array.isArray(f) && [1, 2, 3, 4, 5, 6, 7, 8].includes(f[0] as number) && this.lengthOk(f)
    } catch {
      return false
    }
  }

  private lengthOk(f: unknown[]): boolean {
    const want: Record<number, number> = { 1: 7, 2: 8, 3: 8, 4: 5, 5: 4, 6: 7, 7: 6, 8: 5 }
    return f.length === want[f[0] as number]
  }

  /** A decodable frame with random, often absurd, fields (no packet/identity semantics). */
  /** A receiver report: mostly well formed (flags 0/1, 3-byte entries, any tags and ratios), sometimes not. */
  private report(): Uint8Array {
    const d = this.d
    if (d.chance(0.2)) return d.bytes(d.int(300))
    const out = d.bytes(1 + 3 * d.int(70))
    out[0] = d.int(2)
    return out
  }

  private validFrame(who: 'victim-peer' | 'stranger', origin = this.d.id() || 'x'): Frame {
    const d = this.d
    const head = { origin, incarnation: d.absurdNumber(), packet: Math.max(1, d.absurdNumber()) }
    const target = d.pick([VICTIM, ...HONEST, 'nobody'])
    const ranges = this.absurdRanges()
    switch (d.int(8)) {
      case 7: return { type: MessageType.Peers, ...head, addresses: this.addresses() }
      case 0: return { type: MessageType.Heartbeat, ...head, seq: d.absurdNumber(), digest: d.bytes(8), publicKey: null, dhKey: d.chance(0.2) ? d.bytes(d.chance(0.5) ? 32 : d.int(40)) : null, unicastOnly: d.chance(0.8) ? 0 : d.absurdNumber(), report: this.report() }
      case 1: {
        const seq = Math.max(1, d.absurdNumber()), count = Math.max(1, d.absurdNumber())
        return { type: MessageType.Data, ...head, seq, index: d.int(Math.min(seq, count)), count, chunk: d.bytes(d.int(200)) }
      }
      case 2: return { type: MessageType.Nack, ...head, target: who === 'victim-peer' ? VICTIM : target, targetIncarnation: d.chance(0.5) ? this.world.victim.engine.incarnation : d.absurdNumber(), ranges, wantSnapshot: d.chance(0.3) }
      case 3: return { type: MessageType.Ping, ...head, target }
      case 4: return { type: MessageType.Goodbye, ...head }
      case 5: return { type: MessageType.Message, ...head, to: target, messageId: d.absurdNumber(), data: junkValue(d) }
      default: return { type: MessageType.Ack, ...head, to: target, messageId: d.absurdNumber() }
    }
  }

  /** Peer addresses from a small pool (the peer-list probe covers an unbounded supply). */
  private addresses(): string[] {
    const d = this.d
    return Array.from({ length: d.int(65) }, () => `10.9.${d.int(4)}.${d.int(16)}:${d.pick([47474, 47475, 1])}`)
  }

  /** NACK ranges from one number to all of them, up to the 64 a NACK may carry. */
  private absurdRanges(): Array<[number, number]> {
    const d = this.d
    return Array.from({ length: d.range(1, 64) }, () => {
      const first = Math.max(1, d.absurdNumber())
      return [first, Math.min(MAX_SAFE, first + d.pick([0, 1, 100, 2 ** 40, MAX_SAFE]))] as [number, number]
    })
  }

  /**
   * Valid frames, unsigned: in a stranger's name, or in an honest or insider node's name but
   * never with its current incarnation (see the unsigned-forgery probe for why).
   */
  private insiderUnsigned(): Uint8Array {
    const d = this.d
    const victim = this.world.victim.engine
    const known = [...HONEST, ...this.streams.map((s) => s.insider.nodeId)]
    const origin = d.chance(0.5) ? d.id() || 'x' : d.pick(known)
    const frame = this.validFrame('stranger', origin)
    const current = victim.peers.get(origin)?.incarnation
    if (current !== undefined && frame.incarnation === current) frame.incarnation = d.chance(0.5) ? current - 1 : current + 1 + d.int(1000)
    if (frame.type === MessageType.Nack && frame.target === VICTIM && d.chance(0.7)) frame.targetIncarnation = victim.incarnation
    return this.stranger.raw(encodeFrame(frame), false)
  }

  /** Members gone rogue, each with its own identity: legit writes mixed with absurd frames. */
  private insiderSigned(): Uint8Array {
    const d = this.d
    const s = d.pick(this.streams)
    const ins = s.insider
    if (s.pending.length > 0 && d.chance(0.7)) return this.keep(s, s.pending.shift() as Uint8Array)
    const r = d.next()
    if (r < 0.3) return this.keep(s, this.legitWrite(s))
    if (r < 0.45) {
      // Absurd sequence numbers, fragment counts and indices; some chunks too large to be sent.
      const seq = d.chance(0.3) ? Math.max(1, d.absurdNumber()) : s.seq + d.range(1, 30_000)
      const count = d.pick([1, 2, 3, 65535, 2 ** 32, MAX_SAFE])
      const index = d.int(Math.min(count, seq))
      const size = d.pick([0, 1, 100, 1200, 1300, 1800, 2500])
      return ins.data(seq, index, count, d.bytes(size))
    }
    if (r < 0.55) {
      // Next in sequence, count 1, but a body the replica must refuse.
      s.seq++
      const body = d.pick([
        () => d.bytes(d.int(300)),
        () => cbor.encode(junkValue(d)),
        () => hostileCbor(d),
        () => cbor.encode([7, 'k', 1]),
        () => cbor.encode([BodyKind.Delta, 'k']),
        () => cbor.encode([BodyKind.Delta, 42, cbor.encode(1)]),
        () => cbor.encode([BodyKind.Delta, '', cbor.encode(1)]),
        () => cbor.encode([BodyKind.Delta, 'k'.repeat(129), cbor.encode(1)]),
        // The value's byte string (protocol 6): missing, junk, hostile, undefined, trailing bytes.
        () => cbor.encode([BodyKind.Delta, 'k', 1]),
        () => cbor.encode([BodyKind.Delta, 'k', junkValue(d)]),
        () => cbor.encode([BodyKind.Delta, 'k', d.bytes(d.int(40))]),
        () => cbor.encode([BodyKind.Delta, 'k', hostileCbor(d)]),
        () => cbor.encode([BodyKind.Delta, 'k', cbor.encode(junkValue(d))]),
        () => cbor.encode([BodyKind.Delta, 'k', Uint8Array.of(0xf7)]),
        () => cbor.encode([BodyKind.Delta, 'k', Buffer.concat([cbor.encode(1), d.bytes(1 + d.int(8))])]),
      ])()
      return this.keep(s, ins.data(s.seq, 0, 1, body))
    }
    if (r < 0.65) return ins.heartbeat(d.chance(0.5) ? s.seq : d.absurdNumber(), d.chance(0.7), d.bytes(8))
    if (r < 0.75) {
      const ranges = this.absurdRanges()
      return ins.seal({ type: MessageType.Nack, target: VICTIM, targetIncarnation: this.world.victim.engine.incarnation, ranges, wantSnapshot: d.chance(0.2) }, d.chance(0.5))
    }
    if (r < 0.8) return ins.seal({ type: MessageType.Ping, target: d.pick([VICTIM, ...HONEST]) }, d.chance(0.5))
    if (r < 0.86) return ins.seal({ type: MessageType.Message, to: d.pick([VICTIM, VICTIM, 'alice']), messageId: d.absurdNumber(), data: junkValue(d) }, true)
    if (r < 0.9) return ins.seal({ type: MessageType.Ack, to: VICTIM, messageId: d.absurdNumber() }, true)
    if (r < 0.91) return ins.seal({ type: MessageType.Goodbye }, true)
    if (r < 0.92) return ins.seal({ type: MessageType.Peers, addresses: this.addresses() }, true)
    if (r < 0.96 && s.sent.length > 0) return d.pick(s.sent) // its own replay
    // A jump in packet numbers: everything older than the replay window is then refused.
    ins.setPacket(ins.packet + 1 + d.int(3000))
    return ins.heartbeat(s.seq)
  }

  private keep(s: InsiderStream, bytes: Uint8Array): Uint8Array {
    if (s.sent.length >= 64) s.sent[this.d.int(64)] = bytes
    else s.sent.push(bytes)
    return bytes
  }

  /** A proper delta or snapshot in sequence; a large one is fragmented and queued. */
  private legitWrite(s: InsiderStream): Uint8Array {
    const d = this.d
    const entries: Record<string, unknown> = {}
    for (let i = d.range(1, 6); i > 0; i--) entries[`m${d.int(40)}`] = d.chance(0.15) ? undefined : stateValue(d)
    if (d.chance(0.1)) entries[`big${d.int(4)}`] = 'B'.repeat(d.range(2000, 9000))
    const body = deltaBody(entries, d.chance(0.1) ? BodyKind.Snapshot : BodyKind.Delta)
    const count = Math.ceil(body.length / CHUNK)
    const frames: Uint8Array[] = []
    for (let index = 0; index < count; index++) frames.push(s.insider.data(s.seq + 1 + index, index, count, body.subarray(index * CHUNK, (index + 1) * CHUNK)))
    s.seq += count
    // Fragments go out in order, or shuffled (reordered on the way).
    if (d.chance(0.3)) frames.sort(() => d.next() - 0.5)
    const first = frames.shift() as Uint8Array
    s.pending.push(...frames)
    return first
  }

  /** Signed with a key that is not the claimed node's, or by an unknown node without a key. */
  private impostor(): Uint8Array {
    const d = this.d
    const signer = d.pick(this.impostorSigners)
    const r = d.next()
    const claim = r < 0.6 ? d.pick(HONEST) : r < 0.75 ? VICTIM : r < 0.9 ? d.pick(this.streams).insider.nodeId : `unknown${d.int(50)}`
    const current = claim === VICTIM ? this.world.victim.engine.incarnation : this.world.victim.engine.peers.get(claim)?.incarnation ?? 1
    const fake = new Insider({ nodeId: claim, incarnation: d.chance(0.7) ? current : current + 1, signer, random: d.random })
    fake.setPacket(d.range(1, 1_000_000))
    const unknownClaim = claim.startsWith('unknown')
    // An unknown node that announces a key would be admitted: a legit new member (see the
    // identity-churn probe). Impostors of unknown ids therefore sign without announcing.
    if (d.chance(0.5) && !unknownClaim) return fake.heartbeat(d.absurdNumber(), true, d.bytes(8))
    if (d.chance(0.5)) return fake.data(d.range(1, 100), 0, 1, deltaBody({ temperature: -273 }))
    return fake.seal({ type: MessageType.Message, to: VICTIM, messageId: d.int(1000), data: 'forged' }, true)
  }
}
