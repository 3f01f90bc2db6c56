// The sealed envelope (src/seal/envelope.ts) and the Sealer around it (src/core/sealer.ts):
// every refusal comes back as a reason, never an exception.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { chacha20poly1305 } from '@noble/ciphers/chacha'
import { Sealer } from '../../src/core/sealer'
import type { RandomSource } from '../../src/core/types'
import { FLAG_MACS, FLAG_SIGNED, MAC_ENTRY_BYTES, MAX_MACS, open, seal, SEAL_OVERHEAD, signedMessage, type OpenResult } from '../../src/seal/envelope'
import { derivePairKey, hasOurMac, macTrailer } from '../../src/seal/pair-keys'
import { deriveNetworkKey, type NetworkKey } from '../../src/seal/keys'
import { signerFromSeed, verifierFor } from '../../src/seal/signer'
import { MessageType, PROTOCOL_VERSION } from '../../src/wire/constants'
import { encodeFrame } from '../../src/wire/frame'

const KEY = '11'.repeat(32)
const OTHER = '22'.repeat(32)
const CLUSTER = 'lab'
const cluster = new TextEncoder().encode(CLUSTER)
const primary = deriveNetworkKey(KEY, CLUSTER)
const signer = signerFromSeed(new Uint8Array(32).fill(5))
const frame = encodeFrame({ type: MessageType.Heartbeat, origin: 'kitchen', incarnation: 9, packet: 1, seq: 4, digest: new Uint8Array(8), publicKey: null, dhKey: null, unicastOnly: 0, report: Uint8Array.of(1) })
const nonce = new Uint8Array(12).fill(3)
const signed = seal(primary, cluster, nonce, frame, signer.sign(signedMessage(cluster, frame)))
const unsigned = seal(primary, cluster, nonce, frame, null)
const reasonOf = (r: OpenResult): string => (r.ok ? 'ok' : r.reason)

/** Another network key whose key id equals `key`'s (about 1 in 256 keys). */
function sameIdKey(key: NetworkKey): string {
  for (let i = 0; ; i++) {
    const candidate = i.toString(16).padStart(64, 'a')
    if (deriveNetworkKey(candidate, CLUSTER).id === key.id && candidate !== KEY) return candidate
  }
}
const randomSource = (): RandomSource => ({ next: Math.random, bytes: (n) => new Uint8Array(randomBytes(n)) })

t.test('layout and a successful open', async (t) => {
  t.equal(signed[0], PROTOCOL_VERSION, 'version byte first')
  t.equal(signed[1], primary.id, 'then the key id')
  t.same([...signed.subarray(2, 14)], [...nonce], 'then the 12-byte nonce')
  t.equal(signed.length, 2 + 12 + 1 + frame.length + 64 + 16)
  t.equal(unsigned.length, 2 + 12 + 1 + frame.length + 16)
  t.equal(SEAL_OVERHEAD, 2 + 12 + 16 + 1 + 64)
  const a = open([primary], cluster, signed)
  t.ok(a.ok && a.value.signed && a.value.signature?.length === 64 && Buffer.compare(a.value.frame, frame) === 0)
  if (a.ok) t.ok(verifierFor(signer.publicKey)(signedMessage(cluster, a.value.frame), a.value.signature as Uint8Array))
  const b = open([primary], cluster, unsigned)
  t.ok(b.ok && !b.value.signed && b.value.signature === null && Buffer.compare(b.value.frame, frame) === 0)
  t.equal(FLAG_SIGNED, 1)
})

t.test('a wrong network key', async (t) => {
  const other = deriveNetworkKey(OTHER, CLUSTER)
  t.not(other.id, primary.id, 'these two keys have different ids')
  t.equal(reasonOf(open([other], cluster, signed)), 'unknown-key', 'a key id we do not hold')
  const twin = deriveNetworkKey(sameIdKey(primary), CLUSTER)
  t.equal(twin.id, primary.id)
  t.equal(reasonOf(open([twin], cluster, signed)), 'auth-failed', 'same key id, other key')
  t.equal(reasonOf(open([], cluster, signed)), 'unknown-key', 'no keys at all')
})

t.test('a tampered byte at every position is refused', async (t) => {
  for (const datagram of [signed, unsigned]) {
    const counts = new Map<string, number>()
    for (let i = 0; i < datagram.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const bad = Uint8Array.from(datagram)
        bad[i] ^= mask
        const r = reasonOf(open([primary], cluster, bad))
        const expected = i === 0 ? 'bad-version' : i === 1 ? 'unknown-key' : 'auth-failed'
        if (r !== expected) t.fail(`byte ${i} ^ ${mask}: ${r}, expected ${expected}`)
        counts.set(r, (counts.get(r) ?? 0) + 1)
      }
    }
    t.equal(counts.get('ok'), undefined, 'no tampered datagram opens')
    t.equal(counts.get('auth-failed'), 2 * (datagram.length - 2), 'nonce, ciphertext and tag are all authenticated')
  }
})

t.test('truncated datagrams', async (t) => {
  for (let n = 0; n < signed.length; n++) {
    const r = reasonOf(open([primary], cluster, signed.subarray(0, n)))
    const expected = n < 2 + 12 + 16 + 1 ? 'too-short' : 'auth-failed'
    if (r !== expected) t.fail(`${n} bytes: ${r}, expected ${expected}`)
  }
  t.equal(reasonOf(open([primary], cluster, signed.subarray(0, 30))), 'too-short', '30 bytes: less than header, nonce, tag and flags')
  t.equal(reasonOf(open([primary], cluster, Buffer.concat([signed, Uint8Array.of(0)]))), 'auth-failed', 'a trailing byte')
})

t.test('the version byte', async (t) => {
  for (let v = 0; v < 256; v++) {
    if (v === PROTOCOL_VERSION) continue
    const bad = Uint8Array.from(signed)
    bad[0] = v
    if (reasonOf(open([primary], cluster, bad)) !== 'bad-version') t.fail(`version ${v}`)
  }
  // The version is also in the associated data: a datagram re-labelled by a future version that
  // accepted both could still not be opened as the other version.
  const other = PROTOCOL_VERSION + 1
  const sealedAsOther = chacha20poly1305(primary.aeadKey, nonce, Buffer.concat([Buffer.of(other, primary.id), cluster])).encrypt(Buffer.concat([Buffer.of(0), frame]))
  const relabelled = Buffer.concat([Buffer.of(PROTOCOL_VERSION, primary.id), nonce, sealedAsOther])
  t.equal(reasonOf(open([primary], cluster, relabelled)), 'auth-failed', `sealed with version ${other} in the AAD`)
})

t.test('a wrong cluster', async (t) => {
  const otherCluster = new TextEncoder().encode('lab2')
  t.equal(reasonOf(open([primary], otherCluster, signed)), 'auth-failed', 'cluster is associated data')
  const keyOfOther = deriveNetworkKey(KEY, 'lab2')
  t.equal(keyOfOther.id, primary.id, 'same key id...')
  t.equal(reasonOf(open([keyOfOther], otherCluster, signed)), 'auth-failed', '...but another AEAD key and AAD')
  t.equal(reasonOf(open([keyOfOther], cluster, signed)), 'auth-failed', 'the AEAD key alone is cluster-bound too')
})

t.test('flags', async (t) => {
  const sealInner = (inner: Uint8Array): Uint8Array =>
    Buffer.concat([Buffer.of(PROTOCOL_VERSION, primary.id), nonce, chacha20poly1305(primary.aeadKey, nonce, Buffer.concat([Buffer.of(PROTOCOL_VERSION, primary.id), cluster])).encrypt(inner)])
  for (const flags of [3, 4, 0x80, 0xff]) t.equal(reasonOf(open([primary], cluster, sealInner(Buffer.concat([Buffer.of(flags), frame])))), 'bad-flags', `flags ${flags}`)
  t.equal(reasonOf(open([primary], cluster, sealInner(Buffer.concat([Buffer.of(1), new Uint8Array(64)])))), 'bad-flags', 'signed, but no room for a frame')
  const minimal = open([primary], cluster, sealInner(Buffer.concat([Buffer.of(1), Buffer.of(0xf6), new Uint8Array(64)])))
  t.ok(minimal.ok && minimal.value.frame.length === 1, 'signed with a 1-byte frame opens (the frame codec refuses it later)')
  const empty = open([primary], cluster, sealInner(Buffer.of(0)))
  t.ok(empty.ok && empty.value.frame.length === 0, 'unsigned and empty opens (the frame codec refuses it later)')
})

t.test('key rotation: a new primary plus accepted old keys', async (t) => {
  const oldKey = deriveNetworkKey(OTHER, CLUSTER)
  const fromOld = seal(oldKey, cluster, nonce, frame, null)
  t.equal(reasonOf(open([primary], cluster, fromOld)), 'unknown-key', 'not accepted: refused')
  const opened = open([primary, oldKey], cluster, fromOld)
  t.ok(opened.ok && opened.value.keyId === oldKey.id, 'accepted old key opens')
  // Two accepted keys with one key id: each is tried.
  const twin = deriveNetworkKey(sameIdKey(primary), CLUSTER)
  const fromTwin = seal(twin, cluster, nonce, frame, null)
  t.ok(open([primary, twin], cluster, fromTwin).ok, 'the second key with the same id is tried after the first')
  t.ok(open([twin, primary], cluster, signed).ok)
  // Through the Sealer: a node rotated to OTHER still reads a node on KEY, and the reverse.
  const rotated = new Sealer({ primary: OTHER, accepted: [KEY], cluster: CLUSTER }, 'rotated', 1, signer, randomSource())
  const laggard = new Sealer({ primary: KEY, accepted: [], cluster: CLUSTER }, 'laggard', 1, signer, randomSource())
  const hello = laggard.seal({ type: MessageType.Goodbye }, true)
  t.ok(rotated.unseal(hello).ok, 'the rotated node opens the old key')
  t.same(laggard.unseal(rotated.seal({ type: MessageType.Goodbye }, true)), { ok: false, reason: 'unknown-key' }, 'the laggard cannot read the new key')
})

t.test('signatures are bound to the cluster and the frame', async (t) => {
  const verify = verifierFor(signer.publicKey)
  const signature = signer.sign(signedMessage(cluster, frame))
  t.ok(verify(signedMessage(cluster, frame), signature))
  t.notOk(verify(signedMessage(new TextEncoder().encode('lab2'), frame), signature), 'another cluster')
  t.notOk(verify(frame, signature), 'the bare frame, without the domain prefix')
  const altered = Uint8Array.from(frame)
  altered[altered.length - 1] ^= 1
  t.notOk(verify(signedMessage(cluster, altered), signature), 'another frame')
  t.notOk(verifierFor(signerFromSeed(new Uint8Array(32).fill(6)).publicKey)(signedMessage(cluster, frame), signature), 'another key')
  t.equal(Buffer.from(signedMessage(cluster, frame).subarray(0, 8)).toString('hex'), Buffer.from(`dsn-sig${String.fromCharCode(PROTOCOL_VERSION)}`).toString('hex'))
})

t.test('Sealer: packet numbers, fresh nonces, refusals as reasons', async (t) => {
  const sender = new Sealer({ primary: KEY, accepted: [], cluster: CLUSTER }, 'kitchen', 77, signer, randomSource())
  const receiver = new Sealer({ primary: KEY, accepted: [], cluster: CLUSTER }, 'hall', 1, signer, randomSource())
  const a = sender.seal({ type: MessageType.Ping, target: 'hall' }, false)
  const b = sender.seal({ type: MessageType.Ping, target: 'hall' }, false)
  t.not(Buffer.from(a.subarray(2, 26)).toString('hex'), Buffer.from(b.subarray(2, 26)).toString('hex'), 'a fresh nonce per datagram')
  const packets = [a, b, sender.seal({ type: MessageType.Goodbye }, true)].map((d) => {
    const r = receiver.unseal(d)
    return r.ok ? [r.frame.origin, r.frame.incarnation, r.frame.packet, r.signed] : r.reason
  })
  t.same(packets, [['kitchen', 77, 1, false], ['kitchen', 77, 2, false], ['kitchen', 77, 3, true]], 'origin, incarnation and packet 1, 2, 3 filled in')
  t.same(receiver.unseal(new Uint8Array(0)), { ok: false, reason: 'too-short' })
  t.same(receiver.unseal(seal(primary, cluster, nonce, Uint8Array.of(0xff), null)), { ok: false, reason: 'malformed-cbor' }, 'frame codec reasons pass through')
  t.same(receiver.unseal(seal(primary, cluster, nonce, encodeFrame({ type: MessageType.Goodbye, origin: 'a', incarnation: 1, packet: 1 }).subarray(1), null)), { ok: false, reason: 'malformed-cbor' })
  for (let i = 0; i < 2000; i++) {
    const r = receiver.unseal(new Uint8Array(randomBytes(Math.floor(Math.random() * 200))))
    if (r.ok) t.fail('random bytes opened')
  }
  const forged = receiver.unseal(sender.seal({ type: MessageType.Goodbye }, true))
  t.ok(forged.ok && !receiver.verify(verifierFor(signerFromSeed(new Uint8Array(32)).publicKey), forged.frameBytes, forged.signature as Uint8Array), 'a signature checked against the wrong key fails')
})

t.test('receiver MACs: trailer layout, limits and checks', async (t) => {
  const sealInner = (inner: Uint8Array): Uint8Array =>
    Buffer.concat([Buffer.of(PROTOCOL_VERSION, primary.id), nonce, chacha20poly1305(primary.aeadKey, nonce, Buffer.concat([Buffer.of(PROTOCOL_VERSION, primary.id), cluster])).encrypt(inner)])
  const a = signerFromSeed(new Uint8Array(32).fill(1))
  const b = signerFromSeed(new Uint8Array(32).fill(2))
  const c = signerFromSeed(new Uint8Array(32).fill(3))
  const sharedAB = a.agree(b.dhPublicKey) as Uint8Array
  t.same(sharedAB, b.agree(a.dhPublicKey), 'X25519 agrees both ways')
  t.equal(a.agree(new Uint8Array(32)), null, 'a low-order point gives no key')
  t.equal(a.agree(new Uint8Array(31)), null, 'a short key gives no key')
  const ab = derivePairKey(sharedAB, CLUSTER, a.publicKey, b.publicKey)
  const ba = derivePairKey(sharedAB, CLUSTER, b.publicKey, a.publicKey)
  t.not(Buffer.compare(ab.key, ba.key), 0, 'each direction has its own key')
  const ac = derivePairKey(a.agree(c.dhPublicKey) as Uint8Array, CLUSTER, a.publicKey, c.publicKey)
  const trailer = macTrailer([ab, ac], frame)
  t.equal(trailer.length, 2 * MAC_ENTRY_BYTES, 'two 6-byte MACs, no hint and no count')
  const sealed = seal(primary, cluster, nonce, frame, null, trailer)
  t.equal(sealed.length, 2 + 12 + 1 + frame.length + 12 + 16)
  const opened = open([primary], cluster, sealed)
  t.ok(opened.ok && opened.value.macs?.length === 12 && Buffer.compare(opened.value.frame, frame) === 0, 'opens with its entries')
  if (!opened.ok || !opened.value.macs) return
  t.ok(hasOurMac(ab, frame, opened.value.macs), 'b finds and checks its MAC')
  t.ok(hasOurMac(ac, frame, opened.value.macs), 'c too')
  t.notOk(hasOurMac(ba, frame, opened.value.macs), 'the reverse direction does not pass')
  const changed = Uint8Array.from(frame)
  changed[changed.length - 1] ^= 1
  t.notOk(hasOurMac(ab, changed, opened.value.macs), 'another frame does not pass')
  const forged = Uint8Array.from(opened.value.macs)
  forged[2] ^= 0x40
  t.notOk(hasOurMac(ab, frame, forged), "one flipped bit in b's MAC: b refuses it")
  t.ok(hasOurMac(ac, frame, forged), "c's MAC is untouched")
  const flags = (count: number) => FLAG_MACS | (count << 2)
  t.equal(reasonOf(open([primary], cluster, sealInner(Buffer.concat([Buffer.of(flags(0)), frame])))), 'bad-flags', 'zero MACs')
  t.equal(reasonOf(open([primary], cluster, sealInner(Buffer.concat([Buffer.of(flags(25)), frame, new Uint8Array(25 * 6)])))), 'bad-flags', 'more than MAX_MACS')
  t.equal(reasonOf(open([primary], cluster, sealInner(Buffer.concat([Buffer.of(flags(1)), new Uint8Array(6)])))), 'bad-flags', 'no room for a frame')
  t.equal(reasonOf(open([primary], cluster, sealInner(Buffer.concat([Buffer.of(flags(9)), new Uint8Array(3 * 6)])))), 'bad-flags', 'a count longer than the datagram')
  t.equal(reasonOf(open([primary], cluster, sealInner(Buffer.concat([Buffer.of(FLAG_SIGNED | 4), frame, new Uint8Array(64)])))), 'bad-flags', 'count bits on a signed datagram')
  const one = open([primary], cluster, sealInner(Buffer.concat([Buffer.of(flags(2)), frame, trailer])))
  t.ok(one.ok && one.value.macs?.length === 12 && Buffer.compare(one.value.frame, frame) === 0, 'the count in the flags byte splits frame and MACs')
  t.equal(MAX_MACS, 24)
})
