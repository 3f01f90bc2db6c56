import type { JsonValue } from './json-values'

/**
 * The control protocol on the daemon's Unix socket: newline-delimited JSON, one request per
 * line, answered in order by one response line. An optional `id` is echoed back.
 *
 *   -> {"op":"set","key":"temperature","value":21.5}      <- {"ok":true,"result":null}
 *   -> {"op":"get","node":"hall","key":"temperature"}      <- {"ok":true,"result":21.5}
 *   -> {"op":"get","node":"hall"}                          <- {"ok":true,"result":{"temperature":21.5}}
 *   -> {"op":"get"}                                        <- {"ok":true,"result":{"hall":{...},"kitchen":{...}}}
 *   -> {"op":"del","key":"temperature"}                    <- {"ok":true,"result":true}   (false: was not set)
 *   -> {"op":"peers"}                                      <- {"ok":true,"result":["hall","kitchen"]}
 *   -> {"op":"status"}                                     <- {"ok":true,"result":{...NodeStatus, "daemon":{...}}}
 *   -> {"op":"ping"}                                       <- {"ok":true,"result":{"nodeId":"kitchen","publicKey":"..."}}
 *   -> {"op":"watch"}                                      <- {"ok":true,"result":"watching"}, then one line per event:
 *        {"event":"update","nodeId":"hall","key":"t","value":21.5,"deleted":false}
 *        {"event":"peer-up","nodeId":"hall","incarnation":..,"address":"10.0.0.2:40000"}
 *        {"event":"peer-down","nodeId":"hall","incarnation":..,"reason":"goodbye"}
 *        {"event":"message","from":"hall","data":...}
 *        {"event":"stopping"}  (the daemon is shutting down; the connection then closes)
 *   errors: {"ok":false,"error":{"code":"DSN_NOT_FOUND","message":"..."}}
 *
 * Values are JSON; bytes travel as {"$bytes":"<base64>"} (see json-values.ts). `node` "@" or
 * absent with a key means this node.
 */
export type Request =
  | { op: 'ping' }
  | { op: 'set'; key: string; value: JsonValue }
  | { op: 'get'; node?: string; key?: string }
  | { op: 'del'; key: string }
  | { op: 'peers' }
  | { op: 'status' }
  | { op: 'watch' }

export type RequestId = string | number

/** Codes beyond DsnErrorCode that only the control protocol produces. */
export type ControlErrorCode = 'DSN_BAD_REQUEST' | 'DSN_NOT_FOUND' | 'DSN_INTERNAL'

export interface ErrorBody {
  code: string
  message: string
}

export type Response = { id?: RequestId; ok: true; result: JsonValue } | { id?: RequestId; ok: false; error: ErrorBody }

export type WatchEvent =
  | { event: 'update'; nodeId: string; key: string; value?: JsonValue; deleted: boolean }
  | { event: 'peer-up'; nodeId: string; incarnation: number; address: string }
  | { event: 'peer-down'; nodeId: string; incarnation: number; reason: string }
  | { event: 'message'; from: string; data?: JsonValue }
  | { event: 'stopping' }

/** "@" names this node wherever a node id is expected; it is not a legal node id. */
export const SELF = '@'

export type Parsed = { ok: true; id?: RequestId; request: Request } | { ok: false; id?: RequestId; error: ErrorBody }

export function parseRequest(line: string): Parsed {
  let message: unknown
  try {
    message = JSON.parse(line)
  } catch {
    return bad(undefined, 'not valid JSON')
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return bad(undefined, 'a request is a JSON object')
  const m = message as Record<string, unknown>
  const id = typeof m.id === 'string' || typeof m.id === 'number' ? m.id : undefined
  const str = (field: string, required: boolean): string | undefined | ErrorBody => {
    const value = m[field]
    if (value === undefined && !required) return undefined
    if (typeof value !== 'string') return { code: 'DSN_BAD_REQUEST', message: `"${field}" must be a string` }
    return value
  }
  const fail = (e: ErrorBody): Parsed => ({ ok: false, id, error: e })
  switch (m.op) {
    case 'ping':
    case 'peers':
    case 'status':
    case 'watch':
      return { ok: true, id, request: { op: m.op } }
    case 'set': {
      const key = str('key', true)
      if (typeof key !== 'string') return fail(key as ErrorBody)
      if (!('value' in m) || m.value === undefined) return bad(id, '"set" needs a "value"')
      return { ok: true, id, request: { op: 'set', key, value: m.value as JsonValue } }
    }
    case 'del': {
      const key = str('key', true)
      return typeof key === 'string' ? { ok: true, id, request: { op: 'del', key } } : fail(key as ErrorBody)
    }
    case 'get': {
      const node = str('node', false)
      const key = str('key', false)
      if (typeof node === 'object') return fail(node)
      if (typeof key === 'object') return fail(key)
      return { ok: true, id, request: { op: 'get', node, key } }
    }
    default:
      return bad(id, `unknown op ${JSON.stringify(m.op)} (known: ping, set, get, del, peers, status, watch)`)
  }
}

function bad(id: RequestId | undefined, message: string): Parsed {
  return { ok: false, id, error: { code: 'DSN_BAD_REQUEST', message } }
}

export function encodeLine(message: Response | WatchEvent | Request & { id?: RequestId }): string {
  return JSON.stringify(message) + '\n'
}

/**
 * Splits a text stream into lines; a line longer than maxLineChars is an error, so a client
 * cannot make the daemon buffer without bound.
 */
export class LineSplitter {
  private buffered = ''

  constructor(private readonly maxLineChars: number) {}

  push(chunk: string): { lines: string[]; overflow: boolean } {
    this.buffered += chunk
    const parts = this.buffered.split('\n')
    this.buffered = parts.pop() ?? ''
    const lines = parts.map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '')
    const overflow = this.buffered.length > this.maxLineChars || lines.some((l) => l.length > this.maxLineChars)
    return { lines, overflow }
  }
}
