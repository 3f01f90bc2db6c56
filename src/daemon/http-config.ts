import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import * as path from 'node:path'
import { DsnError } from '../errors'

/**
 * The daemon's optional HTTP listener (metrics, dashboard, JSON): `http`, `httpToken` and
 * `httpTokenFile` in the config file, DSN_HTTP, DSN_HTTP_TOKEN and DSN_HTTP_TOKEN_FILE in the
 * environment (which wins). Off unless `http` is set. Parsed here, eagerly and cheaply; the
 * server itself (src/http/) is loaded only when this returns settings.
 */
export interface HttpSettings {
  /** An IP literal or `localhost`. */
  host: string
  /** 0 picks a free port (tests). */
  port: number
  /** Required unless host is loopback; when set it is checked on every request, loopback too. */
  token: string | undefined
  loopback: boolean
}

export const HTTP_FIELDS = ['http', 'httpToken', 'httpTokenFile'] as const

export interface HttpEnv {
  http?: string
  httpToken?: string
  httpTokenFile?: string
}

// Long enough not to be guessed over a LAN, short and plain enough for a header and a URL.
const TOKEN = /^[\x21-\x7e]{16,256}$/
const DEFAULT_HOST = '127.0.0.1'

export function loadHttpSettings(file: Record<string, unknown>, configPath: string | undefined, env: HttpEnv): HttpSettings | undefined {
  const inFile = (field: string) => `config file ${configPath}: ${field}`
  for (const field of HTTP_FIELDS) {
    if (file[field] !== undefined && (typeof file[field] !== 'string' || file[field] === '')) throw bad(inFile(field), 'must be a non-empty string')
  }
  const text = env.http ?? (file.http as string | undefined)
  if (text === undefined) return undefined
  const where = env.http !== undefined ? 'environment DSN_HTTP' : inFile('http')
  const { host, port } = parseListen(text, where)

  let token: string | undefined
  let tokenWhere: string
  if (env.httpToken !== undefined || env.httpTokenFile !== undefined) {
    if (env.httpToken !== undefined && env.httpTokenFile !== undefined) throw bad('environment', 'set only one of DSN_HTTP_TOKEN and DSN_HTTP_TOKEN_FILE')
    tokenWhere = env.httpToken !== undefined ? 'environment DSN_HTTP_TOKEN' : `environment DSN_HTTP_TOKEN_FILE ${env.httpTokenFile}`
    token = env.httpToken ?? readToken(env.httpTokenFile as string, tokenWhere)
  } else {
    if (file.httpToken !== undefined && file.httpTokenFile !== undefined) throw bad(`config file ${configPath}`, 'set only one of httpToken and httpTokenFile')
    const tokenFile = file.httpTokenFile as string | undefined
    tokenWhere = tokenFile !== undefined ? `${inFile('httpTokenFile')} ${tokenFile}` : inFile('httpToken')
    token = tokenFile !== undefined ? readToken(resolveFrom(configPath, tokenFile), tokenWhere) : (file.httpToken as string | undefined)
  }
  if (token !== undefined && !TOKEN.test(token)) throw bad(tokenWhere, 'the token must be 16-256 printable ASCII characters without spaces (e.g. `openssl rand -hex 24`)')
  const loopback = isLoopback(host)
  if (!loopback && token === undefined) {
    throw bad(where, `${host} is not a loopback address: set httpToken (or httpTokenFile, DSN_HTTP_TOKEN, DSN_HTTP_TOKEN_FILE) to serve it beyond this machine`)
  }
  return { host, port, token, loopback }
}

/** "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464", "localhost:9464", or a bare port (loopback). */
export function parseListen(text: string, where: string): { host: string; port: number } {
  const t = text.trim()
  const allowed = 'must be "host:port" with an IP address or localhost, e.g. "127.0.0.1:9464", or a port alone (loopback)'
  const m = /^\d{1,5}$/.test(t) ? [t, undefined, DEFAULT_HOST, t] : /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(t)
  if (!m) throw bad(where, `${allowed} (got ${JSON.stringify(text)})`)
  const host = (m[1] ?? m[2]) as string
  const port = Number(m[3])
  if (port > 65535) throw bad(where, `port must be 0-65535 (got ${port})`)
  const family = isIP(host)
  if (m[1] !== undefined ? family !== 6 : host !== 'localhost' && family !== 4) throw bad(where, `${allowed} (got ${JSON.stringify(text)})`)
  return { host, port }
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || /^::ffff:127\./i.test(host)
}

function readToken(file: string, where: string): string {
  try {
    return readFileSync(file, 'utf8').trim()
  } catch (err) {
    throw bad(where, `cannot read the token (${(err as NodeJS.ErrnoException).code ?? String(err)})`)
  }
}

function resolveFrom(configPath: string | undefined, file: string): string {
  return configPath === undefined ? file : path.resolve(path.dirname(configPath), file)
}

function bad(where: string, problem: string): DsnError {
  return new DsnError('DSN_BAD_CONFIG', `${where}: ${problem}`)
}
