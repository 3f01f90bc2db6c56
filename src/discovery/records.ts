// DNS-SD records of one node (RFC 6763) and the mDNS responder rules (RFC 6762) that pick which
// of them answer a query. Pure: packets in, packets out; the socket lives in mdns.ts.
import { createHash } from 'node:crypto'
import type { Answer, Packet, Question } from 'dns-packet'

export const MDNS_GROUP = '224.0.0.251'
export const MDNS_PORT = 5353
export const SERVICE_TYPE = '_dsn._udp.local'
/** DNS-SD service type enumeration (RFC 6763 section 9): browsers ask it what services exist. */
export const SERVICES_ENUMERATION = '_services._dns-sd._udp.local'
/**
 * 120 s for every record: the RFC 6762 section 10 value for host-name-bound records (SRV, A).
 * Liveness is the membership layer's job, so a short TTL on PTR/TXT buys nothing but traffic.
 */
export const DEFAULT_TTL_SECONDS = 120
/** RFC 6762 section 6.7: answers to legacy (non-5353) unicast queries carry at most 10 s TTLs. */
const LEGACY_MAX_TTL_SECONDS = 10
const MAX_LABEL_BYTES = 63

export interface MdnsAdvert {
  nodeId: string
  cluster: string
  protocolVersion: number
  /** The node's unicast UDP port. */
  port: number
}

/** Every record one node publishes, built once at start. */
export interface OwnRecords {
  advert: MdnsAdvert
  /** `<label>._dsn._udp.local` */
  instance: string
  /** `<hostname>.local` */
  host: string
  ptr: Answer
  srv: Answer
  txt: Answer
  a: Answer
  enumeration: Answer
}

/**
 * The instance label is `<nodeId>@<cluster>`, so two clusters sharing a LAN never claim the same
 * name. Node ids and clusters may contain '.', which would split the label (and dns-packet cannot
 * escape it), and both together may pass the 63-byte label limit: such names become a readable
 * prefix plus '~' and a hash of the full pair. '~' is outside the id alphabet, so a hashed label
 * never equals a plain one. Peers are identified by TXT id/cluster, never by parsing the label.
 */
export function instanceLabel(nodeId: string, cluster: string): string {
  const plain = `${nodeId}@${cluster}`
  if (!plain.includes('.') && Buffer.byteLength(plain) <= MAX_LABEL_BYTES) return plain
  const hash = createHash('sha256').update(plain).digest('hex').slice(0, 8)
  return `${plain.replace(/\./g, '-').slice(0, MAX_LABEL_BYTES - 9)}~${hash}`
}

/** A DNS label from a host name: letters, digits and '-' only, at most 63 bytes, no `.local`. */
export function hostLabel(hostname: string): string {
  const first = hostname.replace(/\.local\.?$/i, '').replace(/[^A-Za-z0-9-]/g, '-').slice(0, MAX_LABEL_BYTES)
  return first.length > 0 ? first : 'dsn-host'
}

export function buildRecords(advert: MdnsAdvert, hostname: string, address: string, ttl = DEFAULT_TTL_SECONDS): OwnRecords {
  const instance = `${instanceLabel(advert.nodeId, advert.cluster)}.${SERVICE_TYPE}`
  const host = `${hostLabel(hostname)}.local`
  // PTRs are shared records (many nodes answer for the service type); SRV/TXT/A are unique to
  // this node, so they carry the cache-flush bit (RFC 6762 section 10.2).
  return {
    advert,
    instance,
    host,
    ptr: { name: SERVICE_TYPE, type: 'PTR', ttl, data: instance },
    srv: { name: instance, type: 'SRV', ttl, flush: true, data: { port: advert.port, target: host, priority: 0, weight: 0 } },
    txt: {
      name: instance,
      type: 'TXT',
      ttl,
      flush: true,
      data: [`id=${advert.nodeId}`, `cluster=${advert.cluster}`, `v=${advert.protocolVersion}`],
    },
    a: { name: host, type: 'A', ttl, flush: true, data: address },
    enumeration: { name: SERVICES_ENUMERATION, type: 'PTR', ttl, data: SERVICE_TYPE },
  }
}

/** The unsolicited response sent at start (RFC 6762 section 8.3). */
export function announcement(own: OwnRecords): Packet {
  return { type: 'response', answers: [own.ptr, own.srv, own.txt, own.a] }
}

/** The same records with TTL 0 (RFC 6762 section 10.1): caches drop them within a second. */
export function goodbye(own: OwnRecords): Packet {
  return { type: 'response', answers: [own.ptr, own.srv, own.txt, own.a].map((r) => ({ ...r, ttl: 0 }) as Answer) }
}

export function browseQuery(): Packet {
  return { type: 'query', questions: [{ name: SERVICE_TYPE, type: 'PTR' }] }
}

/**
 * dns-packet 5.6 turns a class with the QU bit (0x8001) into the string 'UNKNOWN_32769' and
 * loses the bit, so IN questions arrive as 'IN', 'ANY' or that string.
 */
function asksInternet(q: Question): boolean {
  const cls = q.class as string | undefined
  return cls === undefined || cls === 'IN' || cls === 'ANY' || cls === 'UNKNOWN_32769'
}

function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase()
}

function txtBytes(data: unknown): string {
  const parts = Array.isArray(data) ? data : [data]
  return parts.map((p) => (Buffer.isBuffer(p) ? p.toString('hex') : Buffer.from(String(p)).toString('hex'))).join('|')
}

/** Same name, type and rdata: the identity used for known-answer suppression. */
export function sameRecord(x: Answer, y: Answer): boolean {
  if (x.type !== y.type || !same(x.name, y.name)) return false
  const dx = (x as { data?: unknown }).data
  const dy = (y as { data?: unknown }).data
  switch (x.type) {
    case 'PTR':
    case 'A':
      return typeof dx === 'string' && typeof dy === 'string' && same(dx, dy)
    case 'SRV': {
      const sx = dx as { port?: number; target?: string } | undefined
      const sy = dy as { port?: number; target?: string } | undefined
      return !!sx && !!sy && sx.port === sy.port && same(String(sx.target), String(sy.target))
    }
    case 'TXT':
      return txtBytes(dx) === txtBytes(dy)
    default:
      return false
  }
}

/** The records a question asks for, and their additionals (RFC 6763 section 12). */
function recordsFor(own: OwnRecords, q: Question): { answers: Answer[]; additionals: Answer[] } {
  const none = { answers: [], additionals: [] }
  if (typeof q.name !== 'string' || !asksInternet(q)) return none
  const t = q.type as string
  const any = t === 'ANY'
  if (same(q.name, SERVICE_TYPE) && (t === 'PTR' || any)) {
    return { answers: [own.ptr], additionals: [own.srv, own.txt, own.a] }
  }
  if (same(q.name, SERVICES_ENUMERATION) && (t === 'PTR' || any)) return { answers: [own.enumeration], additionals: [] }
  if (same(q.name, own.instance)) {
    if (any) return { answers: [own.srv, own.txt], additionals: [own.a] }
    if (t === 'SRV') return { answers: [own.srv], additionals: [own.a] }
    if (t === 'TXT') return { answers: [own.txt], additionals: [] }
  }
  if (same(q.name, own.host) && (t === 'A' || any)) return { answers: [own.a], additionals: [] }
  return none
}

/**
 * Our response to a query, or null when none of its questions is ours.
 * `legacy`: the query came from a port other than 5353 (a one-shot resolver, RFC 6762 section
 * 6.7), so the reply is unicast, echoes the id and questions, caps TTLs and drops cache-flush.
 */
export function respondTo(own: OwnRecords, query: Packet, legacy: boolean): Packet | null {
  const answers: Answer[] = []
  const additionals: Answer[] = []
  for (const q of query.questions ?? []) {
    const found = recordsFor(own, q)
    for (const r of found.answers) if (!answers.includes(r)) answers.push(r)
    for (const r of found.additionals) if (!additionals.includes(r)) additionals.push(r)
  }
  // Known-answer suppression (RFC 6762 section 7.1): skip what the querier already holds with
  // at least half our TTL.
  const known = (query.answers ?? []).filter((k) => typeof k.name === 'string')
  const fresh = answers.filter(
    (r) => !known.some((k) => sameRecord(k, r) && ((k as { ttl?: number }).ttl ?? 0) >= ((r as { ttl?: number }).ttl ?? 0) / 2),
  )
  if (fresh.length === 0) return null
  const extra = additionals.filter((r) => !answers.includes(r))
  if (!legacy) return { type: 'response', answers: fresh, additionals: extra }
  const cap = (r: Answer): Answer =>
    ({ ...r, flush: false, ttl: Math.min((r as { ttl?: number }).ttl ?? 0, LEGACY_MAX_TTL_SECONDS) }) as Answer
  return { type: 'response', id: query.id, questions: query.questions, answers: fresh.map(cap), additionals: extra.map(cap) }
}
