import { randomBytes } from 'node:crypto'

/** A new random 256-bit network key: 64 hex characters. Its own file: `dsn keygen` loads only this. */
export function generateKey(): string {
  return randomBytes(32).toString('hex')
}
