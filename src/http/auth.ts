import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/**
 * Who may read. With a token: every request carries it, as `Authorization: Bearer <token>`
 * (Prometheus, curl) or `?token=` (a browser's address bar and its EventSource, which cannot
 * set headers). Compared in constant time over SHA-256 digests, so neither the token's bytes nor
 * its length leak through timing. Without a token the listener is loopback-only (the config
 * refuses anything else), and the Host header must name a loopback host: a web page the user
 * visits cannot then read the state through DNS rebinding (evil.example resolving to 127.0.0.1).
 */
export type AuthResult = { ok: true } | { ok: false; status: 401 | 403; message: string }

export class Auth {
  private readonly digest: Buffer | undefined

  constructor(token: string | undefined) {
    this.digest = token === undefined ? undefined : sha256(token)
  }

  check(req: IncomingMessage, url: URL): AuthResult {
    if (this.digest === undefined) {
      return isLoopbackHost(req.headers.host) ? { ok: true } : { ok: false, status: 403, message: 'this listener answers loopback host names only (set httpToken to serve a LAN)' }
    }
    const header = req.headers.authorization
    const bearer = header !== undefined && /^Bearer\s+/i.test(header) ? header.replace(/^Bearer\s+/i, '').trim() : undefined
    const given = bearer ?? url.searchParams.get('token') ?? undefined
    if (given !== undefined && timingSafeEqual(sha256(given), this.digest)) return { ok: true }
    return { ok: false, status: 401, message: given === undefined ? 'a token is required (Authorization: Bearer <token>, or ?token=)' : 'wrong token' }
  }
}

/** localhost, 127.x.y.z or [::1], with or without a port. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false
  const name = host.toLowerCase().replace(/:\d+$/, '')
  return name === 'localhost' || name === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}
