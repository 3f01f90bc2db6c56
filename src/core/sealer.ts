import { deriveNetworkKey, type NetworkKey } from '../seal/keys'
import { open, seal, signedMessage } from '../seal/envelope'
import type { Signer } from '../seal/signer'
import { decodeFrame, encodeFrame, FrameError, type Frame } from '../wire/frame'
import { SIGN_AT_LEAST_EVERY } from './replay-window'
import type { RandomSource } from './types'

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never
/** A frame as the engine builds it: origin, incarnation and packet number are filled here. */
export type FrameBody = DistributiveOmit<Frame, 'origin' | 'incarnation' | 'packet'>

export type Unsealed =
  | { ok: true; frame: Frame; signed: boolean; frameBytes: Uint8Array; signature: Uint8Array | null }
  | { ok: false; reason: string }

/**
 * Turns frames into sealed, optionally signed datagrams and back. Owns this incarnation's
 * packet counter, so every datagram (a resend too) gets a number never used before.
 */
export class Sealer {
  private packet = 0
  private lastSignedPacket = 0
  private readonly primary: NetworkKey
  private readonly accepted: NetworkKey[]
  private readonly cluster: Uint8Array

  constructor(
    networkKeys: { primary: string; accepted: readonly string[]; cluster: string },
    private readonly origin: string,
    private readonly incarnation: number,
    private readonly signer: Signer,
    private readonly random: RandomSource,
  ) {
    this.primary = deriveNetworkKey(networkKeys.primary, networkKeys.cluster)
    this.accepted = [this.primary, ...networkKeys.accepted.map((k) => deriveNetworkKey(k, networkKeys.cluster))]
    this.cluster = new TextEncoder().encode(networkKeys.cluster)
  }

  /** The last packet number used: our own looped-back datagrams are recognised as recent by it. */
  get lastPacket(): number {
    return this.packet
  }

  get publicKey(): Uint8Array {
    return this.signer.publicKey
  }

  seal(body: FrameBody, signed: boolean): Uint8Array {
    const packet = ++this.packet
    // Receivers take unsigned packets only close behind a signed one (see replay-window.ts).
    if (packet - this.lastSignedPacket >= SIGN_AT_LEAST_EVERY) signed = true
    if (signed) this.lastSignedPacket = packet
    const frame = { ...body, origin: this.origin, incarnation: this.incarnation, packet } as Frame
    const bytes = encodeFrame(frame)
    const signature = signed ? this.signer.sign(signedMessage(this.cluster, bytes)) : null
    return seal(this.primary, this.cluster, this.random.bytes(24), bytes, signature)
  }

  /** Never throws: every refusal comes back as a reason for the drop counters. */
  unseal(datagram: Uint8Array): Unsealed {
    const opened = open(this.accepted, this.cluster, datagram)
    if (!opened.ok) return opened
    try {
      const frame = decodeFrame(opened.value.frame)
      return { ok: true, frame, signed: opened.value.signed, frameBytes: opened.value.frame, signature: opened.value.signature }
    } catch (err) {
      return { ok: false, reason: err instanceof FrameError ? err.reason : 'malformed-frame' }
    }
  }

  verify(verifier: (m: Uint8Array, s: Uint8Array) => boolean, frameBytes: Uint8Array, signature: Uint8Array): boolean {
    return verifier(signedMessage(this.cluster, frameBytes), signature)
  }
}
