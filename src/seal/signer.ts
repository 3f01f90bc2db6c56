import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, sign, verify, type KeyObject } from 'node:crypto'

// DER prefixes that wrap a raw 32-byte Ed25519 key (RFC 8410), so raw keys travel on the wire.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
// The same wrappers for X25519 (OID 1.3.101.110).
const X_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex')
const X_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex')

export interface Signer {
  publicKey: Uint8Array
  sign(message: Uint8Array): Uint8Array
  /** X25519 public key, derived from the same seed: announced in signed heartbeats. */
  dhPublicKey: Uint8Array
  /** X25519 with a peer's public key; null when the key is invalid (e.g. a low-order point). */
  agree(peerDhPublicKey: Uint8Array): Uint8Array | null
}

export function signerFromSeed(seed: Uint8Array): Signer {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  const publicDer = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  // The X25519 identity comes from the Ed25519 seed (HKDF, its own label), so the credential
  // dir keeps one secret and a node's X25519 key never changes while its identity does not.
  const dhSeed = Buffer.from(hkdfSync('sha256', seed, 'dsn x25519', 'x25519 identity', 32))
  const dhPrivate = createPrivateKey({ key: Buffer.concat([X_PKCS8_PREFIX, dhSeed]), format: 'der', type: 'pkcs8' })
  const dhPublicDer = createPublicKey(dhPrivate).export({ format: 'der', type: 'spki' })
  return {
    publicKey: new Uint8Array(publicDer.subarray(SPKI_PREFIX.length)),
    sign: (message) => new Uint8Array(sign(null, message, privateKey)),
    dhPublicKey: new Uint8Array(dhPublicDer.subarray(X_SPKI_PREFIX.length)),
    agree: (peer) => {
      if (peer.length !== 32) return null
      try {
        const publicKey = createPublicKey({ key: Buffer.concat([X_SPKI_PREFIX, peer]), format: 'der', type: 'spki' })
        // OpenSSL refuses an all-zero result (low-order points); we check as well.
        const shared = new Uint8Array(diffieHellman({ privateKey: dhPrivate, publicKey }))
        return shared.some((b) => b !== 0) ? shared : null
      } catch {
        return null
      }
    },
  }
}

export function newSeed(): Uint8Array {
  const { privateKey } = generateKeyPairSync('ed25519')
  const der = privateKey.export({ format: 'der', type: 'pkcs8' })
  return new Uint8Array(der.subarray(PKCS8_PREFIX.length))
}

/** A verifier for one peer's raw public key; creating the KeyObject once keeps verify cheap. */
export function verifierFor(publicKey: Uint8Array): (message: Uint8Array, signature: Uint8Array) => boolean {
  let key: KeyObject
  try {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' })
  } catch {
    return () => false
  }
  return (message, signature) => {
    try {
      return verify(null, message, key, signature)
    } catch {
      return false
    }
  }
}
