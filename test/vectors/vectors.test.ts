// Re-derives every golden vector of envelope.json from its inputs, byte for byte, and opens each
// sealed datagram with the real receive path. Regenerate with `npx tsx scripts/make-vectors.ts`.
import t from 'tap'
import { createHash, createPrivateKey, createPublicKey, hkdfSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import * as path from 'node:path'
import { chacha20poly1305, hchacha } from '@noble/ciphers/chacha'
import { decodeBody, encodeBody } from '../../src/core/body'
import { entryHash, xorInto } from '../../src/core/digest'
import { OwnState } from '../../src/core/own-state'
import { Sealer, type FrameBody } from '../../src/core/sealer'
import type { RandomSource } from '../../src/core/types'
import { encodeValue } from '../../src/core/values'
import { open, seal, signedMessage } from '../../src/seal/envelope'
import { derivePairKey, hasOurMac, macTrailer, type PairKey } from '../../src/seal/pair-keys'
import { deriveNetworkKey } from '../../src/seal/keys'
import { signerFromSeed, verifierFor } from '../../src/seal/signer'
import { BodyKind, PROTOCOL_VERSION } from '../../src/wire/constants'
import { decodeFrame, encodeFrame, type Frame } from '../../src/wire/frame'

interface KeyVector { networkKey: string; keyIdOkm: string; keyId: number; aeadKey: string; aeadKeyOtherCluster: string }
interface Vector {
  name: string
  signed: boolean
  maced: boolean
  macInput: string | null
  macTrailer: string | null
  frame: Record<string, unknown>
  frameCbor: string
  signedMessage: string | null
  signature: string | null
  nonce: string
  associatedData: string
  inner: string
  sealed: string
}
interface Vectors {
  protocolVersion: number
  cluster: string
  clusterHex: string
  hkdf: { salt: string; saltHex: string; keyIdInfo: string; aeadInfo: string; keys: KeyVector[] }
  identity: { seed: string; publicKey: string; dhPublicKey: string }
  peerIdentity: { nodeId: string; seed: string; publicKey: string; dhPublicKey: string }
  x25519: { sharedSecret: string; originToPeer: { key: string }; peerToOrigin: { key: string } }
  nonceSalt: string
  origin: string
  incarnation: number
  state: { entries: Array<{ key: string; value: unknown; valueCbor: string; entryHash: string }>; digest: string }
  bodies: { delta: string; snapshot: string; fragmented: string }
  vectors: Vector[]
}

const V = JSON.parse(readFileSync(path.join(__dirname, 'envelope.json'), 'utf8')) as Vectors
const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'))
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const cluster = new TextEncoder().encode(V.cluster)
const primary = deriveNetworkKey(V.hkdf.keys[0].networkKey, V.cluster)
const signer = signerFromSeed(bytes(V.identity.seed))
const peerSigner = signerFromSeed(bytes(V.peerIdentity.seed))
const toPeer = derivePairKey(bytes(V.x25519.sharedSecret), V.cluster, signer.publicKey, peerSigner.publicKey)

t.test('X25519 identities and pair keys', async (t) => {
  t.equal(hex(signer.dhPublicKey), V.identity.dhPublicKey, 'X25519 key from the Ed25519 seed')
  const dhSeed = new Uint8Array(hkdfSync('sha256', bytes(V.identity.seed), 'dsn x25519', 'x25519 identity', 32))
  const der = createPublicKey(createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), dhSeed]), format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' })
  t.equal(hex(der.subarray(12)), V.identity.dhPublicKey, 'the X25519 private key is HKDF(seed) as documented')
  t.equal(hex(peerSigner.dhPublicKey), V.peerIdentity.dhPublicKey)
  t.equal(hex(signer.agree(peerSigner.dhPublicKey) as Uint8Array), V.x25519.sharedSecret)
  t.equal(hex(peerSigner.agree(signer.dhPublicKey) as Uint8Array), V.x25519.sharedSecret)
  const info = Buffer.concat([Buffer.from(`mac ${V.cluster}`), Buffer.of(0), signer.publicKey, peerSigner.publicKey])
  const okm = new Uint8Array(hkdfSync('sha256', bytes(V.x25519.sharedSecret), V.hkdf.salt, info, 32))
  t.equal(hex(okm), V.x25519.originToPeer.key, 'pair key = HKDF(shared, salt, info, 32)')
  t.equal(hex(toPeer.key), V.x25519.originToPeer.key)
})

/** HChaCha20 (draft-irtf-cfrg-xchacha section 2.2) of a 16-byte input, 32 bytes out, through
 * @noble/ciphers' core with the byte order spelled out: our MAC checked against the library alone. */
function hchachaBytes(key: Uint8Array, input: Uint8Array): Uint8Array {
  const le = (b: Uint8Array) => Uint32Array.from({ length: b.length / 4 }, (_, i) => Buffer.from(b).readUInt32LE(i * 4))
  const out = new Uint32Array(8)
  hchacha(le(new TextEncoder().encode('expand 32-byte k')), le(key), le(input), out)
  const bytes = Buffer.alloc(32)
  out.forEach((w, i) => bytes.writeUInt32LE(w, i * 4))
  return new Uint8Array(bytes)
}

t.test('HChaCha20, the receiver MAC function, matches its specification', async (t) => {
  // draft-irtf-cfrg-xchacha-03 section 2.2.1.
  const key = Uint8Array.from({ length: 32 }, (_, i) => i)
  const input = bytes('000000090000004a0000000031415927')
  t.equal(hex(hchachaBytes(key, input)), '82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc')
})

/** The frame a vector describes: its byte fields are hex in the JSON. */
function frameOf(v: Vector): Frame {
  const f: Record<string, unknown> = { ...v.frame }
  for (const field of ['digest', 'publicKey', 'dhKey', 'chunk', 'report']) if (typeof f[field] === 'string') f[field] = bytes(f[field] as string)
  return f as unknown as Frame
}

t.test('vector file covers every frame type and both signing modes', async (t) => {
  t.equal(V.protocolVersion, PROTOCOL_VERSION)
  t.equal(V.clusterHex, hex(cluster))
  t.same([...new Set(V.vectors.map((v) => v.frame.type))].sort(), [1, 2, 3, 4, 5, 6, 7, 8])
  t.ok(V.vectors.some((v) => v.signed) && V.vectors.some((v) => !v.signed))
  t.same(V.vectors.map((v) => v.frame.packet), V.vectors.map((_, i) => i + 1), 'packets 1, 2, 3... as one Sealer numbers them')
})

t.test('HKDF-SHA256 subkeys and key ids', async (t) => {
  t.equal(V.hkdf.saltHex, hex(new TextEncoder().encode(V.hkdf.salt)))
  t.equal(V.hkdf.salt, `dsn/${PROTOCOL_VERSION}`)
  t.equal(V.hkdf.aeadInfo, `aead ${V.cluster}`)
  for (const k of V.hkdf.keys) {
    const ikm = Buffer.from(k.networkKey, 'hex')
    const okm = (info: string, n: number) => hex(new Uint8Array(hkdfSync('sha256', ikm, V.hkdf.salt, info, n)))
    t.equal(okm(V.hkdf.keyIdInfo, 1), k.keyIdOkm)
    t.equal(okm(V.hkdf.aeadInfo, 32), k.aeadKey)
    t.equal(okm('aead other', 32), k.aeadKeyOtherCluster)
    const derived = deriveNetworkKey(k.networkKey, V.cluster)
    t.equal(derived.id, k.keyId)
    t.equal(derived.id, bytes(k.keyIdOkm)[0], 'the key id is the first (only) byte of the key-id output')
    t.equal(hex(derived.aeadKey), k.aeadKey)
    t.equal(hex(deriveNetworkKey(k.networkKey, 'other').aeadKey), k.aeadKeyOtherCluster, 'the cluster is in the AEAD info')
    t.equal(deriveNetworkKey(k.networkKey, 'other').id, k.keyId, 'the key id does not depend on the cluster')
  }
})

t.test('identity, state digest and bodies', async (t) => {
  t.equal(hex(signer.publicKey), V.identity.publicKey)
  const digest = new Uint8Array(8)
  for (const e of V.state.entries) {
    const valueBytes = encodeValue(e.value, 1 << 16).bytes
    t.equal(hex(valueBytes), e.valueCbor, `canonical CBOR of ${e.key}`)
    t.equal(hex(entryHash(e.key, valueBytes)), e.entryHash)
    const manual = createHash('sha256').update(Buffer.concat([Buffer.from(e.key), Buffer.of(0), valueBytes])).digest().subarray(0, 8)
    t.equal(hex(manual), e.entryHash, 'SHA-256(key || 0x00 || value CBOR), first 8 bytes')
    xorInto(digest, bytes(e.entryHash))
  }
  t.equal(hex(digest), V.state.digest, 'digest = XOR of entry hashes')
  // The node's own state, which hashes lazily, says the same after a write and a delete.
  const own = new OwnState({ maxKeysPerNode: 100, maxStateBytes: 1 << 16 })
  own.set('scratch', encodeValue(1, 1 << 16))
  for (const e of V.state.entries) own.set(e.key, encodeValue(e.value, 1 << 16))
  own.delete('scratch')
  t.equal(hex(own.digest), V.state.digest, 'OwnState.digest')
  const entries = V.state.entries.map((e) => ({ key: e.key, bytes: bytes(e.valueCbor) }))
  t.equal(hex(encodeBody(BodyKind.Delta, [...entries, { key: 'old', bytes: undefined }])), V.bodies.delta)
  t.equal(hex(encodeBody(BodyKind.Snapshot, entries)), V.bodies.snapshot)
  t.same(decodeBody(bytes(V.bodies.delta), 128), {
    kind: BodyKind.Delta,
    entries: [
      { key: 'temperature', value: 21.5, bytes: entries[0].bytes },
      { key: 'humidity', value: 40, bytes: entries[1].bytes },
      { key: 'old', value: undefined, bytes: undefined },
    ],
    refused: [],
  })
  t.same(decodeBody(bytes(V.bodies.snapshot), 128)?.kind, BodyKind.Snapshot)
})

t.test('each vector re-derives byte for byte', async (t) => {
  for (const v of V.vectors) {
    const frame = frameOf(v)
    const frameBytes = encodeFrame(frame)
    t.equal(hex(frameBytes), v.frameCbor, `${v.name}: frame CBOR`)
    t.equal(hex(encodeFrame(decodeFrame(frameBytes))), v.frameCbor, `${v.name}: decode and re-encode`)
    const message = signedMessage(cluster, frameBytes)
    const byHand = Buffer.concat([Buffer.from('dsn-sig'), Buffer.of(PROTOCOL_VERSION), Buffer.from(cluster), frameBytes])
    t.equal(hex(message), hex(byHand), `${v.name}: signed message = "dsn-sig" | version | cluster | frame`)
    let signature: Uint8Array | null = null
    if (v.signed) {
      t.equal(v.signedMessage, hex(message))
      signature = signer.sign(message)
      t.equal(hex(signature), v.signature, `${v.name}: deterministic Ed25519 signature`)
      t.ok(verifierFor(signer.publicKey)(message, signature))
    } else {
      t.equal(v.signature, null)
    }
    const macs = v.maced ? macTrailer([toPeer], frameBytes) : null
    t.equal(macs ? hex(macs) : null, v.macTrailer, `${v.name}: MAC trailer`)
    if (macs) {
      const input = createHash('sha256').update(frameBytes).digest().subarray(0, 16)
      t.equal(hex(input), v.macInput, `${v.name}: MAC input = SHA-256(frame)[0..16]`)
      const byHand = hchachaBytes(toPeer.key, input).subarray(0, 6)
      t.equal(hex(macs), hex(byHand), `${v.name}: one entry = HChaCha20(pair key, SHA-256(frame)[0..16])[0..6]`)
    }
    // flags: 1 signed; 2 | n << 2 for n MACs (here n = 1); 0 neither.
    const inner = Buffer.concat([Buffer.of(v.signed ? 1 : v.maced ? 2 | (1 << 2) : 0), frameBytes, signature ?? macs ?? Buffer.alloc(0)])
    t.equal(hex(inner), v.inner, `${v.name}: inner = flags | frame | signature or MACs`)
    const aad = Buffer.concat([Buffer.of(PROTOCOL_VERSION, primary.id), Buffer.from(cluster)])
    t.equal(hex(aad), v.associatedData)
    const sealed = seal(primary, cluster, bytes(v.nonce), frameBytes, signature, macs)
    t.equal(hex(sealed), v.sealed, `${v.name}: sealed datagram`)
    // The layout, independently of seal(): version | key id | nonce | ChaCha20-Poly1305(inner).
    const manual = Buffer.concat([
      Buffer.of(PROTOCOL_VERSION, primary.id),
      bytes(v.nonce),
      chacha20poly1305(primary.aeadKey, bytes(v.nonce), aad).encrypt(inner),
    ])
    t.equal(hex(manual), v.sealed, `${v.name}: layout`)
    t.equal(sealed.length, 2 + 12 + inner.length + 16)
    t.equal(v.nonce, V.nonceSalt + hex(Buffer.of(0, 0, 0, frame.packet)), `${v.name}: nonce = salt | counter`)
  }
})

t.test('every sealed vector opens with the real receive path', async (t) => {
  const random: RandomSource = { next: () => 0.5, bytes: (n) => new Uint8Array(n) }
  const receiver = new Sealer({ primary: V.hkdf.keys[0].networkKey, accepted: [], cluster: V.cluster }, 'hall', 1, peerSigner, random)
  const hallKeys = receiver.pairKeys(signer.publicKey, signer.dhPublicKey) as { macIn: PairKey; macOut: PairKey }
  t.equal(hex(hallKeys.macIn.key), V.x25519.originToPeer.key, 'hall derives the same pair key')
  t.equal(hex(hallKeys.macOut.key), V.x25519.peerToOrigin.key, 'and the reverse one')
  const verify = verifierFor(bytes(V.identity.publicKey))
  for (const v of V.vectors) {
    const opened = receiver.unseal(bytes(v.sealed))
    if (!opened.ok) {
      t.fail(`${v.name}: ${opened.reason}`)
      continue
    }
    t.same(opened.frame, frameOf(v), `${v.name}: frame`)
    t.equal(opened.signed, v.signed)
    t.equal(hex(opened.frameBytes), v.frameCbor)
    if (v.signed) t.ok(receiver.verify(verify, opened.frameBytes, opened.signature as Uint8Array), `${v.name}: signature verifies`)
    if (v.maced) t.ok(hasOurMac(hallKeys.macIn, opened.frameBytes, opened.macs as Uint8Array), `${v.name}: the MAC for "hall" checks`)
    else t.equal(opened.macs, null)
    const low = open([primary], cluster, bytes(v.sealed))
    t.ok(low.ok && hex(low.value.frame) === v.frameCbor && low.value.keyId === primary.id)
  }
  const otherCluster = new Sealer({ primary: V.hkdf.keys[0].networkKey, accepted: [], cluster: 'other' }, 'hall', 1, signer, random)
  t.same(otherCluster.unseal(bytes(V.vectors[0].sealed)), { ok: false, reason: 'auth-failed' }, 'another cluster cannot open them')
})

t.test('the sending path (Sealer) reproduces the datagrams', async (t) => {
  const random: RandomSource = { next: () => 0.5, bytes: () => bytes(V.nonceSalt) }
  const sender = new Sealer({ primary: V.hkdf.keys[0].networkKey, accepted: [], cluster: V.cluster }, V.origin, V.incarnation, signer, random)
  for (const v of V.vectors) {
    const { origin, incarnation, packet, ...body } = frameOf(v)
    t.equal(origin, V.origin)
    t.equal(incarnation, V.incarnation)
    t.ok(packet > 0)
    t.equal(hex(sender.seal(body as FrameBody, v.signed, v.maced ? [toPeer] : [])), v.sealed, `${v.name}: Sealer.seal`)
  }
})
