// Our primitives against published test vectors: the AEAD (draft-irtf-cfrg-xchacha-03 A.3.1),
// Ed25519 through signerFromSeed/verifierFor (RFC 8032 section 7.1) and HKDF-SHA256 (RFC 5869 A.1).
import t from 'tap'
import { hkdfSync } from 'node:crypto'
import { xchacha20poly1305 } from '@noble/ciphers/chacha'
import { signerFromSeed, verifierFor } from '../../src/seal/signer'

const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex.replace(/\s+/g, ''), 'hex'))
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

t.test('XChaCha20-Poly1305, draft-irtf-cfrg-xchacha-03 A.3.1', async (t) => {
  const plaintext = new TextEncoder().encode(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  )
  const aad = bytes('50515253c0c1c2c3c4c5c6c7')
  const key = bytes('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f')
  const nonce = bytes('404142434445464748494a4b4c4d4e4f5051525354555657')
  const ciphertext = `bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb
    731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452
    2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9
    21f9664c97637da9768812f615c68b13b52e`.replace(/\s+/g, '')
  const tag = 'c0875924c1c7987947deafd8780acf49'
  const sealed = xchacha20poly1305(key, nonce, aad).encrypt(plaintext)
  t.equal(hex(sealed), ciphertext + tag, 'ciphertext followed by the 16-byte tag')
  t.same(xchacha20poly1305(key, nonce, aad).decrypt(sealed), plaintext)
  const tampered = Uint8Array.from(sealed)
  tampered[tampered.length - 1] ^= 1
  t.throws(() => xchacha20poly1305(key, nonce, aad).decrypt(tampered), 'a flipped tag bit is refused')
  t.throws(() => xchacha20poly1305(key, nonce, bytes('50515253c0c1c2c3c4c5c6c8')).decrypt(sealed), 'other associated data is refused')
})

// RFC 8032 section 7.1: SECRET KEY is the 32-byte seed our identity file holds.
const ed25519 = [
  {
    name: 'TEST 1',
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2',
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3',
    seed: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
]

t.test('Ed25519, RFC 8032 section 7.1', async (t) => {
  for (const v of ed25519) {
    const signer = signerFromSeed(bytes(v.seed))
    t.equal(hex(signer.publicKey), v.publicKey, `${v.name}: public key from seed`)
    t.equal(hex(signer.sign(bytes(v.message))), v.signature, `${v.name}: signature`)
    const verify = verifierFor(bytes(v.publicKey))
    t.ok(verify(bytes(v.message), bytes(v.signature)), `${v.name}: verifies`)
    const wrong = bytes(v.signature)
    wrong[0] ^= 1
    t.notOk(verify(bytes(v.message), wrong), `${v.name}: a flipped bit does not verify`)
    t.notOk(verify(bytes(v.message + '00'), bytes(v.signature)), `${v.name}: another message does not verify`)
  }
  t.notOk(verifierFor(new Uint8Array(31))(new Uint8Array(0), new Uint8Array(64)), 'a malformed public key verifies nothing')
  t.notOk(verifierFor(bytes(ed25519[0].publicKey))(new Uint8Array(0), new Uint8Array(63)), 'a short signature does not verify')
})

t.test('HKDF-SHA256, RFC 5869 A.1 (test case 1)', async (t) => {
  const ikm = bytes('0b'.repeat(22))
  const salt = bytes('000102030405060708090a0b0c')
  const info = bytes('f0f1f2f3f4f5f6f7f8f9')
  const okm = new Uint8Array(hkdfSync('sha256', ikm, salt, info, 42))
  t.equal(hex(okm), '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865')
})
