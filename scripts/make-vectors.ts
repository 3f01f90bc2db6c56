// Writes test/vectors/envelope.json: golden vectors for the sealed envelope, so another
// implementation can check itself against ours byte for byte. Deterministic: fixed network
// keys, cluster, Ed25519 seed and nonces (Ed25519 signatures are deterministic).
// Run: npx tsx scripts/make-vectors.ts   (test/vectors/vectors.test.ts re-derives every byte)
import { createHash, hkdfSync } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import * as path from 'node:path'
import { encodeBody } from '../src/core/body'
import { entryHash, xorInto } from '../src/core/digest'
import { encodeValue } from '../src/core/values'
import { seal, signedMessage } from '../src/seal/envelope'
import { derivePairKey, macTrailer } from '../src/seal/pair-keys'
import { deriveNetworkKey } from '../src/seal/keys'
import { signerFromSeed } from '../src/seal/signer'
import { BodyKind, DIGEST_BYTES, MessageType, PROTOCOL_VERSION } from '../src/wire/constants'
import { encodeFrame, type Frame } from '../src/wire/frame'
import { encodeReport } from '../src/wire/receiver-report'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const seq32 = (start: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => (start + i) & 0xff)

const NETWORK_KEY = hex(seq32(0x00))
const OLD_NETWORK_KEY = hex(seq32(0xe0))
const CLUSTER = 'lab'
const SEED = seq32(0xa0)
const ORIGIN = 'kitchen'
// Incarnations are wall-clock seconds at start (kept increasing by the credential dir).
const INCARNATION = 1754000000
const PEER = 'hall'
const PEER_INCARNATION = 1753999990
const SALT = `dsn/${PROTOCOL_VERSION}`

const signer = signerFromSeed(SEED)
// The receiver of the MAC vectors, "hall", and the pair keys of both directions.
const PEER_SEED = seq32(0xc0)
const peerSigner = signerFromSeed(PEER_SEED)
const shared = signer.agree(peerSigner.dhPublicKey) as Uint8Array
const toPeer = derivePairKey(shared, CLUSTER, signer.publicKey, peerSigner.publicKey)
const fromPeer = derivePairKey(shared, CLUSTER, peerSigner.publicKey, signer.publicKey)
// Nonces: an 8-byte salt (random per incarnation on a real node), then the counter 1, 2, 3...
const NONCE_SALT = Uint8Array.from({ length: 8 }, (_, i) => 0x50 + i)
const primary = deriveNetworkKey(NETWORK_KEY, CLUSTER)
const clusterBytes = new TextEncoder().encode(CLUSTER)

/** The state the data vectors describe, and its digest. */
const state: Array<[string, unknown]> = [['temperature', 21.5], ['humidity', 40]]
const digest = new Uint8Array(DIGEST_BYTES)
const entries = state.map(([key, value]) => {
  const bytes = encodeValue(value, 1 << 16).bytes
  const hash = entryHash(key, bytes)
  xorInto(digest, hash)
  return { key, value, valueCbor: hex(bytes), entryHash: hex(hash) }
})
const stateBytes = state.map(([key, value]) => ({ key, bytes: encodeValue(value, 1 << 16).bytes }))
const delta = encodeBody(BodyKind.Delta, [...stateBytes, { key: 'old', bytes: undefined }])
const snapshot = encodeBody(BodyKind.Snapshot, stateBytes)
const long = encodeBody(BodyKind.Delta, [{ key: 'note', bytes: encodeValue('x'.repeat(40), 1 << 16).bytes }])
const half = Math.ceil(long.length / 2)

type Body = { [T in Frame['type']]: Omit<Extract<Frame, { type: T }>, 'origin' | 'incarnation' | 'packet'> }[Frame['type']]
const cases: Array<{ name: string; signed: boolean; maced?: boolean; body: Body; note: string }> = [
  { name: 'heartbeat-signed', signed: true, note: 'every 8th heartbeat, answers to PING, introductions: carries the Ed25519 and X25519 public keys', body: { type: MessageType.Heartbeat, seq: 3, digest, publicKey: signer.publicKey, dhKey: signer.dhPublicKey, unicastOnly: 0, report: encodeReport([{ nodeId: PEER, ratio: 1 }]) } },
  { name: 'heartbeat-unsigned', signed: false, note: 'a heartbeat when no peer is keyed yet: no key, no signature, no MAC; no receiver report (empty bytes)', body: { type: MessageType.Heartbeat, seq: 3, digest, publicKey: null, dhKey: null, unicastOnly: 0, report: new Uint8Array(0) } },
  { name: 'heartbeat-maced', signed: false, maced: true, note: 'the usual heartbeat: one MAC for "hall"; the receiver report says it hears 3/4 of hall\'s multicast (tag of "hall", 191); one unicast-only datagram sent before', body: { type: MessageType.Heartbeat, seq: 3, digest, publicKey: null, dhKey: null, unicastOnly: 1, report: encodeReport([{ nodeId: PEER, ratio: 0.75 }]) } },
  { name: 'data-delta-maced', signed: false, maced: true, note: 'a delta with one MAC for "hall", as when every live peer is keyed', body: { type: MessageType.Data, seq: 2, index: 0, count: 1, chunk: delta } },
  { name: 'nack-maced', signed: false, maced: true, note: 'a NACK to "hall" with its MAC', body: { type: MessageType.Nack, target: PEER, targetIncarnation: PEER_INCARNATION, ranges: [[3, 3]], wantSnapshot: false } },
  { name: 'data-delta', signed: true, note: 'body [0, "temperature", 21.5, "humidity", 40, "old", undefined]: a delta with a tombstone', body: { type: MessageType.Data, seq: 1, index: 0, count: 1, chunk: delta } },
  { name: 'data-fragment-0', signed: true, note: 'first half of body [0, "note", "xxx...x" (40)], base sequence 4', body: { type: MessageType.Data, seq: 4, index: 0, count: 2, chunk: long.subarray(0, half) } },
  { name: 'data-fragment-1', signed: true, note: 'second half: seq 5 - index 1 = base 4', body: { type: MessageType.Data, seq: 5, index: 1, count: 2, chunk: long.subarray(half) } },
  { name: 'data-snapshot', signed: true, note: 'body [1, "temperature", 21.5, "humidity", 40]: the whole state', body: { type: MessageType.Data, seq: 6, index: 0, count: 1, chunk: snapshot } },
  { name: 'nack', signed: false, note: 'asks "hall" for 3-4 and 7', body: { type: MessageType.Nack, target: PEER, targetIncarnation: PEER_INCARNATION, ranges: [[3, 4], [7, 7]], wantSnapshot: false } },
  { name: 'nack-snapshot', signed: false, note: 'digests differ: asks "hall" for a snapshot', body: { type: MessageType.Nack, target: PEER, targetIncarnation: PEER_INCARNATION, ranges: [[9, 9]], wantSnapshot: true } },
  { name: 'ping', signed: false, note: 'probes "hall"', body: { type: MessageType.Ping, target: PEER } },
  { name: 'message', signed: true, note: 'direct message 1 to "hall"', body: { type: MessageType.Message, to: PEER, messageId: 1, data: { text: 'hello', n: 3 } } },
  { name: 'ack', signed: true, note: 'acknowledges message 1 from "hall"', body: { type: MessageType.Ack, to: PEER, messageId: 1 } },
  { name: 'peers', signed: true, note: 'unicast peer list: whom "kitchen" hears', body: { type: MessageType.Peers, addresses: ['10.0.0.2:47474', '10.0.0.3:40001'] } },
  { name: 'goodbye', signed: true, note: 'sent twice at stop', body: { type: MessageType.Goodbye } },
]

/** JSON view of a frame: byte fields as hex strings. */
function fields(frame: Frame): Record<string, unknown> {
  return Object.fromEntries(Object.entries(frame).map(([k, v]) => [k, v instanceof Uint8Array ? hex(v) : v]))
}

const vectors = cases.map((c, i) => {
  const { type, ...rest } = c.body
  const frame = { type, origin: ORIGIN, incarnation: INCARNATION, packet: i + 1, ...rest } as Frame
  const frameBytes = encodeFrame(frame)
  const message = signedMessage(clusterBytes, frameBytes)
  const signature = c.signed ? signer.sign(message) : null
  const macs = c.maced ? macTrailer([toPeer], frameBytes) : null
  const nonce = Buffer.concat([NONCE_SALT, Buffer.of(0, 0, 0, i + 1)])
  const sealed = seal(primary, clusterBytes, nonce, frameBytes, signature, macs)
  // flags: 1 signed; 2 | n << 2 with n MACs (one here, for "hall"); 0 neither.
  const inner = Buffer.concat([Uint8Array.of(c.signed ? 1 : c.maced ? 2 | (1 << 2) : 0), frameBytes, signature ?? macs ?? new Uint8Array(0)])
  return {
    name: c.name,
    note: c.note,
    signed: c.signed,
    maced: c.maced ?? false,
    frame: fields(frame),
    frameCbor: hex(frameBytes),
    signedMessage: c.signed ? hex(message) : null,
    signature: signature ? hex(signature) : null,
    // What every receiver's MAC starts from: SHA-256(frame)[0..16], HChaCha20's input.
    macInput: macs ? hex(createHash('sha256').update(frameBytes).digest().subarray(0, 16)) : null,
    macTrailer: macs ? hex(macs) : null,
    nonce: hex(nonce),
    associatedData: hex(Buffer.concat([Uint8Array.of(PROTOCOL_VERSION, primary.id), clusterBytes])),
    inner: hex(inner),
    sealed: hex(sealed),
  }
})

const hkdf = (key: string, info: string, length: number) => hex(new Uint8Array(hkdfSync('sha256', Buffer.from(key, 'hex'), SALT, info, length)))
const keys = [NETWORK_KEY, OLD_NETWORK_KEY].map((networkKey) => {
  const derived = deriveNetworkKey(networkKey, CLUSTER)
  return {
    networkKey,
    keyIdOkm: hkdf(networkKey, 'key-id', 1),
    keyId: derived.id,
    aeadKey: hex(derived.aeadKey),
    aeadKeyOtherCluster: hkdf(networkKey, 'aead other', 32),
  }
})

const out = {
  description: `dsn protocol version ${PROTOCOL_VERSION} golden vectors: see docs/PROTOCOL.md. The nonce salt is fixed here only to be reproducible; a sender draws 8 random bytes per incarnation, and the counter follows.`,
  protocolVersion: PROTOCOL_VERSION,
  cluster: CLUSTER,
  clusterHex: hex(clusterBytes),
  hkdf: { hash: 'SHA-256', salt: SALT, saltHex: hex(Buffer.from(SALT)), keyIdInfo: 'key-id', aeadInfo: `aead ${CLUSTER}`, keys },
  identity: { seed: hex(SEED), publicKey: hex(signer.publicKey), dhPublicKey: hex(signer.dhPublicKey) },
  peerIdentity: { nodeId: PEER, seed: hex(PEER_SEED), publicKey: hex(peerSigner.publicKey), dhPublicKey: hex(peerSigner.dhPublicKey) },
  x25519: {
    privateKeyDerivation: 'HKDF-SHA256(IKM = Ed25519 seed, salt "dsn x25519", info "x25519 identity", 32)',
    sharedSecret: hex(shared),
    pairKeyInfo: '"mac " | cluster | 0x00 | origin Ed25519 key | receiver Ed25519 key',
    originToPeer: { key: hex(toPeer.key) },
    peerToOrigin: { key: hex(fromPeer.key) },
  },
  nonceSalt: hex(NONCE_SALT),
  signatureContext: { prefix: 'dsn-sig', layout: '"dsn-sig" (7 bytes) | protocol version (1) | cluster (UTF-8) | frame CBOR' },
  origin: ORIGIN,
  incarnation: INCARNATION,
  state: { entries, digest: hex(digest) },
  bodies: { delta: hex(delta), snapshot: hex(snapshot), fragmented: hex(long) },
  vectors,
}

const file = path.join(__dirname, '..', 'test', 'vectors', 'envelope.json')
writeFileSync(file, JSON.stringify(out, null, 2) + '\n')
console.log(`wrote ${vectors.length} vectors to ${path.relative(process.cwd(), file)}`)
