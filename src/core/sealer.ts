import { deriveNetworkKey, type NetworkKey } from '../seal/keys'
import { HEADER_BYTES, MAC_ENTRY_BYTES, MAX_MACS, NONCE_BYTES, open, seal, signedMessage, SEAL_OVERHEAD, SIGNATURE_BYTES } from '../seal/envelope'
import { derivePairKey, macTrailer, type PairKey } from '../seal/pair-keys'
import type { Signer } from '../seal/signer'
import { decodeFrame, encodeFrameAs, FrameError, type Frame, type FrameBody } from '../wire/frame'
import { SIGN_AT_LEAST_EVERY } from './replay-window'
import type { RandomSource } from './types'

export type { FrameBody }

export type Unsealed =
  | { ok: true; frame: Frame; signed: boolean; frameBytes: Uint8Array; signature: Uint8Array | null; macs: Uint8Array | null }
  | { ok: false; reason: string }

/** How a datagram proves its origin: an Ed25519 signature, one MAC per keyed receiver, or nothing. */
export type OriginProof = 'signed' | 'macs' | 'none'

/**
 * Turns frames into sealed datagrams (signed, with receiver MACs, or neither) and back. Owns
 * this incarnation's packet counter, so every datagram (a resend too) gets a number never used
 * before, and the nonce counter under a random salt (docs/PROTOCOL.md section 3).
 */
export class Sealer {
  private packet = 0
  private lastAuthenticatedPacket = 0
  private readonly primary: NetworkKey
  private readonly accepted: NetworkKey[]
  private readonly cluster: Uint8Array
  private readonly clusterName: string
  /** salt (8, random per Sealer, i.e. per incarnation) | counter (4, big-endian). */
  private readonly nonce = new Uint8Array(NONCE_BYTES)
  private nonceCounter = 0
  /** The proof the last `seal` used, for counters and tests. */
  lastProof: OriginProof = 'none'

  constructor(
    networkKeys: { primary: string; accepted: readonly string[]; cluster: string },
    private readonly origin: string,
    private readonly incarnation: number,
    private readonly signer: Signer,
    private readonly random: RandomSource,
    private readonly mtu = 65000,
  ) {
    this.primary = deriveNetworkKey(networkKeys.primary, networkKeys.cluster)
    this.accepted = [this.primary, ...networkKeys.accepted.map((k) => deriveNetworkKey(k, networkKeys.cluster))]
    this.cluster = new TextEncoder().encode(networkKeys.cluster)
    this.clusterName = networkKeys.cluster
    this.nonce.set(random.bytes(8), 0)
  }

  /**
   * True when the datagram's clear nonce carries our current salt: it is one of ours, looped
   * back (another sender has the same salt with probability 2^-64). Copying our salt into a
   * datagram only makes us ignore that datagram; changing the nonce of another's breaks its AEAD.
   */
  isOwnSalt(datagram: Uint8Array): boolean {
    if (datagram.length < HEADER_BYTES + NONCE_BYTES) return false
    for (let i = 0; i < 8; i++) if (datagram[HEADER_BYTES + i] !== this.nonce[i]) return false
    return true
  }

  /** The last packet number used: our own looped-back datagrams are recognised as recent by it. */
  get lastPacket(): number {
    return this.packet
  }

  get publicKey(): Uint8Array {
    return this.signer.publicKey
  }

  get dhPublicKey(): Uint8Array {
    return this.signer.dhPublicKey
  }

  /**
   * `signed` asks for a signature. Otherwise, with `macFor` (1..MAX_MACS receivers), the
   * datagram carries their MACs, unless they would not fit the MTU, where it is signed instead.
   */
  seal(body: FrameBody, signed: boolean, macFor: readonly PairKey[] = []): Uint8Array {
    const packet = ++this.packet
    const bytes = encodeFrameAs(body, this.origin, this.incarnation, packet)
    let proof: OriginProof = signed ? 'signed' : macFor.length > 0 && macFor.length <= MAX_MACS ? 'macs' : 'none'
    if (proof === 'macs' && bytes.length + macFor.length * MAC_ENTRY_BYTES > this.mtu - SEAL_OVERHEAD + SIGNATURE_BYTES) proof = 'signed'
    // Receivers take unauthenticated packets only close behind an authenticated one (replay-window.ts).
    if (proof === 'none' && packet - this.lastAuthenticatedPacket >= SIGN_AT_LEAST_EVERY) proof = 'signed'
    if (proof !== 'none') this.lastAuthenticatedPacket = packet
    this.lastProof = proof
    const signature = proof === 'signed' ? this.signer.sign(signedMessage(this.cluster, bytes)) : null
    const macs = proof === 'macs' ? macTrailer(macFor, bytes) : null
    return seal(this.primary, this.cluster, this.nextNonce(), bytes, signature, macs)
  }

  /** Both pair MAC keys with a peer, from its pinned Ed25519 key and signed X25519 key; null if invalid. */
  pairKeys(peerKey: Uint8Array, peerDhKey: Uint8Array): { macIn: PairKey; macOut: PairKey } | null {
    const shared = this.signer.agree(peerDhKey)
    if (!shared) return null
    return {
      macIn: derivePairKey(shared, this.clusterName, peerKey, this.signer.publicKey),
      macOut: derivePairKey(shared, this.clusterName, this.signer.publicKey, peerKey),
    }
  }

  /** Never throws: every refusal comes back as a reason for the drop counters. */
  unseal(datagram: Uint8Array): Unsealed {
    const opened = open(this.accepted, this.cluster, datagram)
    if (!opened.ok) return opened
    try {
      const frame = decodeFrame(opened.value.frame)
      const { signed, frame: frameBytes, signature, macs } = opened.value
      return { ok: true, frame, signed, frameBytes, signature, macs }
    } catch (err) {
      return { ok: false, reason: err instanceof FrameError ? err.reason : 'malformed-frame' }
    }
  }

  verify(verifier: (m: Uint8Array, s: Uint8Array) => boolean, frameBytes: Uint8Array, signature: Uint8Array): boolean {
    return verifier(signedMessage(this.cluster, frameBytes), signature)
  }

  /**
   * Unique under the shared key: 2^32 nonces per salt, then a fresh random salt. Two senders
   * collide only if they draw the same 64-bit salt (PROTOCOL.md section 3 has the bound).
   */
  private nextNonce(): Uint8Array {
    if (this.nonceCounter === 0xffffffff) {
      this.nonce.set(this.random.bytes(8), 0)
      this.nonceCounter = 0
    }
    this.nonceCounter++
    new DataView(this.nonce.buffer).setUint32(8, this.nonceCounter)
    return this.nonce
  }
}
