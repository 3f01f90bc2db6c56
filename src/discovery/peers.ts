// What other nodes' mDNS responses say: a parser from packets to per-instance observations, and
// a bounded table that turns observations into 'peer' / 'peer-gone' events. Pure, no I/O.
import { isIPv4 } from 'node:net'
import type { Answer, Packet } from 'dns-packet'
import { SERVICE_TYPE } from './records'

export interface DiscoveredPeer {
  nodeId: string
  cluster: string
  protocolVersion: number
  /** IPv4 address: the A record of the SRV target, else the response's source address. */
  host: string
  port: number
}

/** What one response says about one service instance; fields are absent when it did not say. */
export interface Observation {
  instance: string
  /** A goodbye: the PTR (or, without a PTR, the SRV or TXT) came with TTL 0. */
  gone: boolean
  nodeId?: string
  cluster?: string
  protocolVersion?: number
  port?: number
  host?: string
}

export type PeerEvent =
  | { type: 'peer'; peer: DiscoveredPeer }
  | { type: 'peer-gone'; nodeId: string; cluster: string }

// The alphabet config.ts allows for node ids and clusters; anything else in a TXT is junk.
const ID = /^[A-Za-z0-9_.-]{1,64}$/
const SUFFIX = `.${SERVICE_TYPE}`

interface Found {
  instance: string
  ptrTtl?: number
  srv?: Answer
  txt?: Answer
}

function lower(s: string): string {
  return s.toLowerCase()
}

function ttlOf(r: Answer): number {
  const ttl = (r as { ttl?: unknown }).ttl
  return typeof ttl === 'number' ? ttl : 0
}

function isInstanceName(name: string): boolean {
  return name.length > SUFFIX.length && lower(name).endsWith(SUFFIX)
}

/** TXT strings `key=value`; keys are case-insensitive and the first occurrence wins (RFC 6763 6.4). */
export function parseTxt(data: unknown): Map<string, string> {
  const out = new Map<string, string>()
  const parts = Array.isArray(data) ? data : [data]
  for (const p of parts) {
    const s = Buffer.isBuffer(p) ? p.toString('utf8') : typeof p === 'string' ? p : ''
    const eq = s.indexOf('=')
    if (eq <= 0) continue
    const key = lower(s.slice(0, eq))
    if (!out.has(key)) out.set(key, s.slice(eq + 1))
  }
  return out
}

/**
 * Parses every `_dsn._udp.local` instance named in a response (answers and additionals).
 * `malformed` counts our-service records whose contents are unusable; they are skipped.
 */
export function parseResponse(packet: Packet, source: string): { observations: Observation[]; malformed: number } {
  const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])].filter(
    (r): r is Answer => !!r && typeof r === 'object' && typeof r.name === 'string',
  )
  const found = new Map<string, Found>()
  const entry = (instance: string): Found => {
    let f = found.get(lower(instance))
    if (!f) found.set(lower(instance), (f = { instance }))
    return f
  }
  let malformed = 0
  for (const r of records) {
    const data = (r as { data?: unknown }).data
    if (r.type === 'PTR' && lower(r.name) === SERVICE_TYPE) {
      if (typeof data === 'string' && isInstanceName(data)) entry(data).ptrTtl = ttlOf(r)
      else malformed++
    } else if ((r.type === 'SRV' || r.type === 'TXT') && isInstanceName(r.name)) {
      const f = entry(r.name)
      if (r.type === 'SRV') f.srv ??= r
      else f.txt ??= r
    }
  }
  const observations: Observation[] = []
  for (const f of found.values()) {
    const gone = f.ptrTtl !== undefined ? f.ptrTtl === 0 : [f.srv, f.txt].some((r) => r !== undefined && ttlOf(r) === 0)
    const obs: Observation = { instance: f.instance, gone }
    if (f.txt) {
      const txt = parseTxt((f.txt as { data?: unknown }).data)
      const [id, cluster, v] = [txt.get('id'), txt.get('cluster'), txt.get('v')]
      const version = v !== undefined && /^\d{1,9}$/.test(v) ? Number(v) : NaN
      if (id === undefined || !ID.test(id) || cluster === undefined || !ID.test(cluster) || Number.isNaN(version)) {
        malformed++
        continue
      }
      Object.assign(obs, { nodeId: id, cluster, protocolVersion: version })
    }
    if (f.srv) {
      const srv = (f.srv as { data?: unknown }).data as { port?: unknown; target?: unknown } | undefined
      const port = srv?.port
      const target = srv?.target
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535 || typeof target !== 'string') {
        malformed++
        continue
      }
      obs.port = port
      obs.host = hostOf(records, target, source)
    }
    observations.push(obs)
  }
  return { observations, malformed }
}

/** The SRV target's A record, preferring the one the packet came from; else the source address. */
function hostOf(records: Answer[], target: string, source: string): string {
  const addresses = records
    .filter((r) => r.type === 'A' && lower(r.name) === lower(target))
    .map((r) => (r as { data?: unknown }).data)
    .filter((d): d is string => typeof d === 'string' && isIPv4(d))
  if (addresses.includes(source) || addresses.length === 0) return source
  return addresses[0]
}

export interface Self {
  nodeId: string
  cluster: string
  instance: string
}

/**
 * Known peers by instance name. 'peer' is emitted when an instance is first complete or any of
 * its fields changes (not on every repeated announcement); 'peer-gone' on a goodbye for a peer
 * that was reported. Entries leave only by goodbye: a peer that dies silently is noticed by the
 * membership layer's heartbeats, not by mDNS cache expiry, so this table arms no timers.
 * Every cluster is reported (DiscoveredPeer.cluster says which): the caller filters.
 */
export class PeerTable {
  private readonly peers = new Map<string, DiscoveredPeer>()
  /** New peers ignored because the table held maxPeers. */
  dropped = 0

  constructor(
    private readonly self: Self,
    private readonly maxPeers: number,
  ) {}

  get size(): number {
    return this.peers.size
  }

  list(): DiscoveredPeer[] {
    return [...this.peers.values()].map((p) => ({ ...p }))
  }

  observe(observations: Observation[], source: string): PeerEvent[] {
    const events: PeerEvent[] = []
    for (const o of observations) {
      const key = lower(o.instance)
      if (key === lower(this.self.instance)) continue
      if (o.nodeId === this.self.nodeId && o.cluster === this.self.cluster) continue
      const known = this.peers.get(key)
      if (o.gone) {
        if (known) {
          this.peers.delete(key)
          events.push({ type: 'peer-gone', nodeId: known.nodeId, cluster: known.cluster })
        }
        continue
      }
      const nodeId = o.nodeId ?? known?.nodeId
      const cluster = o.cluster ?? known?.cluster
      const protocolVersion = o.protocolVersion ?? known?.protocolVersion
      const port = o.port ?? known?.port
      if (nodeId === undefined || cluster === undefined || protocolVersion === undefined || port === undefined) continue
      const peer: DiscoveredPeer = { nodeId, cluster, protocolVersion, host: o.host ?? known?.host ?? source, port }
      if (known && samePeer(known, peer)) continue
      if (!known && this.peers.size >= this.maxPeers) {
        this.dropped++
        continue
      }
      this.peers.set(key, peer)
      events.push({ type: 'peer', peer: { ...peer } })
    }
    return events
  }
}

function samePeer(a: DiscoveredPeer, b: DiscoveredPeer): boolean {
  return (
    a.nodeId === b.nodeId && a.cluster === b.cluster && a.protocolVersion === b.protocolVersion && a.host === b.host && a.port === b.port
  )
}
