import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'

// DER prefixes that wrap a raw 32-byte Ed25519 key (RFC 8410), so raw keys travel on the wire.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

export interface Signer {
  publicKey: Uint8Array
  sign(message: Uint8Array): Uint8Array
}

export function signerFromSeed(seed: Uint8Array): Signer {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  const publicDer = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  return {
    publicKey: new Uint8Array(publicDer.subarray(SPKI_PREFIX.length)),
    sign: (message) => new Uint8Array(sign(null, message, privateKey)),
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
