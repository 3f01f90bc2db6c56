import { hkdfSync } from 'node:crypto'
import { PROTOCOL_VERSION } from '../wire/constants'

/** One network key's derived material. */
export interface NetworkKey {
  /** First byte of a derived id: tells a receiver which accepted key sealed a datagram. */
  id: number
  aeadKey: Uint8Array
}

const SALT = `dsn/${PROTOCOL_VERSION}`

/**
 * HKDF-SHA256 subkeys, so the raw network key is never used directly and each purpose and
 * cluster gets its own key: a datagram sealed for one cluster cannot be opened by another.
 */
export function deriveNetworkKey(hexKey: string, cluster: string): NetworkKey {
  const ikm = Buffer.from(hexKey, 'hex')
  const idBytes = new Uint8Array(hkdfSync('sha256', ikm, SALT, 'key-id', 1))
  const aeadKey = new Uint8Array(hkdfSync('sha256', ikm, SALT, `aead ${cluster}`, 32))
  return { id: idBytes[0], aeadKey }
}
