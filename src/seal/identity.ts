import { createPrivateKey } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { DsnError } from '../errors'
import { newSeed, signerFromSeed, type Signer } from './signer'

export interface Identity {
  signer: Signer
  publicKeyHex: string
  /** The file the private key lives in (PKCS#8 PEM, mode 0600). */
  file: string
}

const FILE = 'identity.pem'

/**
 * This node's Ed25519 identity, created on first start. The credential dir is made 0700 and
 * the key 0600: peers pin our id to this key, so losing it means a new id or a re-pin.
 */
export function loadOrCreateIdentity(credentialDir: string): Identity {
  const file = path.join(credentialDir, FILE)
  try {
    fs.mkdirSync(credentialDir, { recursive: true, mode: 0o700 })
    // An existing dir may have been made by hand with looser rights: the key must not be readable.
    fs.chmodSync(credentialDir, 0o700)
    if (!fs.existsSync(file)) {
      const seed = newSeed()
      const pem = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' })
      // wx: never overwrite a key another process wrote meanwhile.
      fs.writeFileSync(file, pem, { mode: 0o600, flag: 'wx' })
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new DsnError('DSN_IDENTITY', `cannot create the identity in credentialDir ${credentialDir}: ${(err as Error).message}`)
    }
  }
  let seed: Uint8Array
  try {
    const key = createPrivateKey(fs.readFileSync(file))
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType ?? 'unknown'} key, not Ed25519`)
    const der = key.export({ format: 'der', type: 'pkcs8' })
    if (der.length !== PKCS8_PREFIX.length + 32) throw new Error('not an Ed25519 key')
    seed = new Uint8Array(der.subarray(PKCS8_PREFIX.length))
  } catch (err) {
    throw new DsnError('DSN_IDENTITY', `cannot read the Ed25519 identity ${file}: ${(err as Error).message}`)
  }
  const signer = signerFromSeed(seed)
  return { signer, publicKeyHex: Buffer.from(signer.publicKey).toString('hex'), file }
}

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
