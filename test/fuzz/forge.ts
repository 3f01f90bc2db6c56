// Crafting datagrams as an insider would: someone holding the network key, and, where a
// signature is needed, a node identity (its own, a fresh one, or none). Shared by the fuzzer
// (scripts/fuzz.ts) and the hostile-input tests. Not a test itself.
import { createHash } from 'node:crypto'
import { Sealer, type FrameBody } from '../../src/core/sealer'
import { encodeBody } from '../../src/core/body'
import type { RandomSource } from '../../src/core/types'
import { seal, signedMessage } from '../../src/seal/envelope'
import { deriveNetworkKey } from '../../src/seal/keys'
import { signerFromSeed, type Signer } from '../../src/seal/signer'
import { BodyKind } from '../../src/wire/constants'
import { cbor } from '../../src/wire/frame'
import { TEST_KEY } from '../sim/network'

/** The identity SimNetwork gives a node id (same derivation as test/sim/network.ts). */
export function simSigner(nodeId: string): Signer {
  return signerFromSeed(new Uint8Array(createHash('sha256').update(`seed:${nodeId}`).digest().subarray(0, 32)))
}

export function freshSigner(random: RandomSource): Signer {
  return signerFromSeed(random.bytes(32))
}

export interface InsiderOptions {
  nodeId: string
  incarnation: number
  signer: Signer
  random: RandomSource
  networkKey?: string
  cluster?: string
}

/** Seals frames in someone's name with the network key; signs with whatever signer it holds. */
export class Insider {
  readonly nodeId: string
  readonly incarnation: number
  readonly signer: Signer
  private readonly sealer: Sealer
  private readonly key
  private readonly cluster: Uint8Array
  private readonly random: RandomSource

  constructor(o: InsiderOptions) {
    this.nodeId = o.nodeId
    this.incarnation = o.incarnation
    this.signer = o.signer
    this.random = o.random
    const networkKey = o.networkKey ?? TEST_KEY
    const cluster = o.cluster ?? 'default'
    this.sealer = new Sealer({ primary: networkKey, accepted: [], cluster }, o.nodeId, o.incarnation, o.signer, o.random)
    this.key = deriveNetworkKey(networkKey, cluster)
    this.cluster = new TextEncoder().encode(cluster)
  }

  /** The next frame gets this packet number. */
  setPacket(packet: number): void {
    ;(this.sealer as unknown as { packet: number }).packet = packet - 1
  }

  get packet(): number {
    return (this.sealer as unknown as { packet: number }).packet
  }

  seal(body: FrameBody, signed: boolean): Uint8Array {
    return this.sealer.seal(body, signed)
  }

  /** Any bytes as the frame, sealed (and signed) properly: reaches the frame decoder. */
  raw(frameBytes: Uint8Array, signed: boolean): Uint8Array {
    const signature = signed ? this.signer.sign(signedMessage(this.cluster, frameBytes)) : null
    return seal(this.key, this.cluster, this.random.bytes(12), frameBytes, signature)
  }

  heartbeat(seq: number, signed = true, digest: Uint8Array = new Uint8Array(8)): Uint8Array {
    return this.seal({ type: 1, seq, digest, publicKey: signed ? this.signer.publicKey : null, dhKey: signed ? this.signer.dhPublicKey : null, unicastOnly: 0, report: Uint8Array.of(0) } as FrameBody, signed)
  }

  data(seq: number, index: number, count: number, chunk: Uint8Array): Uint8Array {
    return this.seal({ type: 2, seq, index, count, chunk } as FrameBody, true)
  }
}

/** A delta body setting these keys (undefined deletes). */
export function deltaBody(entries: Record<string, unknown>, kind: BodyKind = BodyKind.Delta): Uint8Array {
  return encodeBody(kind, Object.entries(entries).map(([key, value]) => ({ key, bytes: value === undefined ? undefined : cbor.encode(value) })))
}
