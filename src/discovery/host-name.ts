// The host name a node publishes in its SRV target and A record: one of its own, derived from
// the node id, probed and defended as RFC 6762 sections 8 and 9 require. Never the machine's
// host name, which avahi or systemd-resolved own: identical board images all share that one.
// Pure (packets and times in, packets out): mdns.ts arms one timer at nextDeadline().
import { createHash } from 'node:crypto'
import type { Answer, Packet, Question } from 'dns-packet'

/** RFC 6762 section 8.1: three probes 250 ms apart, the first after a random 0-250 ms. */
export const PROBE_INTERVAL_MS = 250
export const PROBE_COUNT = 3
/** Section 8.2: a host that loses a simultaneous-probe tie-break waits one second, then probes again. */
export const TIE_BREAK_DEFER_MS = 1000
/** Section 8.1: after 15 conflicts within 10 s, wait 5 s between attempts (no probe storm). */
const CONFLICT_LIMIT = 15
const CONFLICT_WINDOW_MS = 10_000
const CONFLICT_BACKOFF_MS = 5000

/**
 * `dsn-<node id, letters digits and '-'>-<8 hex>.local`: the hash covers node id, cluster and
 * the rename attempt, so two clusters (or a node id reused on two machines) get distinct names,
 * and each rename after a conflict gives a new one. At most 4 + 40 + 1 + 8 = 53 bytes per label.
 */
export function ownHostName(nodeId: string, cluster: string, attempt = 0): string {
  const readable = nodeId.replace(/[^A-Za-z0-9-]/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '').slice(0, 40).toLowerCase()
  const hash = createHash('sha256').update(`${nodeId}@${cluster}${attempt === 0 ? '' : `#${attempt}`}`).digest('hex').slice(0, 8)
  return `dsn-${readable.length > 0 ? `${readable}-` : ''}${hash}.local`
}

export type ClaimState = 'probing' | 'claimed'

/**
 * The claim on one host name: probing (section 8.1), simultaneous-probe tie-break (8.2),
 * rename on conflict, and after the claim, defence (section 9): a probe for our name is
 * answered by the responder (records.ts); a conflicting announcement sends us back to probing
 * the same name, so a stale record costs nothing while a live owner makes us rename.
 */
export class HostNameClaim {
  state: ClaimState = 'probing'
  /** Rename attempts so far: 0 for the first name. */
  attempt = 0
  name: string
  /** Conflicts seen (probe tie-breaks lost, answers from another owner, conflicting announcements). */
  conflicts = 0
  renames = 0
  private probesSent = 0
  private nextAt: number
  private recentConflicts: number[] = []
  /** Set when the claim completes or the name changes: the shell (re)announces then. */
  private changed = false

  constructor(
    private readonly nodeId: string,
    private readonly cluster: string,
    /** Our IPv4 address: the A record's rdata and our tie-break data. */
    private readonly address: string,
    private readonly random: () => number,
    now: number,
  ) {
    this.name = ownHostName(nodeId, cluster)
    this.nextAt = now + Math.floor(random() * PROBE_INTERVAL_MS)
  }

  nextDeadline(): number {
    return this.state === 'probing' ? this.nextAt : Infinity
  }

  /** The A record we hold (or are probing for). */
  record(ttl: number): Answer {
    return { name: this.name, type: 'A', ttl, flush: true, data: this.address }
  }

  /** True once after the claim completes or the name changed: announce the records then. */
  takeClaimed(): boolean {
    const out = this.changed && this.state === 'claimed'
    if (out) this.changed = false
    return out
  }

  /** The probes due by `now` (at most one). */
  tick(now: number): Packet[] {
    if (this.state !== 'probing' || now < this.nextAt) return []
    if (this.probesSent === PROBE_COUNT) {
      this.state = 'claimed'
      this.changed = true
      return []
    }
    this.probesSent++
    this.nextAt = now + PROBE_INTERVAL_MS
    return [{ type: 'query', questions: [{ name: this.name, type: 'ANY' as Question['type'] }], authorities: [this.record(120)] }]
  }

  /** A query from the link: another host probing our name at the same time (section 8.2). */
  onQuery(packet: Packet, now: number): void {
    if (this.state !== 'probing') return
    const asks = (packet.questions ?? []).some((q) => same(q.name, this.name))
    if (!asks) return
    const theirs = (packet.authorities ?? []).filter((r) => same(r.name, this.name))
    if (theirs.length === 0) return
    const order = compareAuthorities([this.record(120)], theirs)
    // Equal data is our own probe looped back (or an identical record): no conflict.
    if (order >= 0) return
    this.conflicts++
    this.restartProbing(now, TIE_BREAK_DEFER_MS)
  }

  /** A response from the link: any record of our name with other data is a conflict. */
  onResponse(packet: Packet, now: number): void {
    const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])]
    const conflicting = records.some((r) => same(r.name, this.name) && (r as { ttl?: number }).ttl !== 0 && !(r.type === 'A' && r.data === this.address))
    if (!conflicting) return
    this.conflicts++
    if (this.state === 'probing') {
      // Someone holds the name: take the next one (section 8.1).
      this.rename(now)
    } else {
      // Section 9: back to probing; a live owner answers our probes and we rename then.
      this.restartProbing(now, 0)
    }
  }

  private rename(now: number): void {
    this.attempt++
    this.renames++
    this.name = ownHostName(this.nodeId, this.cluster, this.attempt)
    this.changed = true
    this.recentConflicts = this.recentConflicts.filter((t) => now - t < CONFLICT_WINDOW_MS)
    this.recentConflicts.push(now)
    const wait = this.recentConflicts.length >= CONFLICT_LIMIT ? CONFLICT_BACKOFF_MS : Math.floor(this.random() * PROBE_INTERVAL_MS)
    this.restartProbing(now, wait)
  }

  private restartProbing(now: number, wait: number): void {
    this.state = 'probing'
    this.changed = true
    this.probesSent = 0
    this.nextAt = now + wait
  }
}

function same(a: unknown, b: string): boolean {
  return typeof a === 'string' && a.toLowerCase() === b.toLowerCase()
}

const TYPE_CODES: Record<string, number> = { A: 1, PTR: 12, TXT: 16, AAAA: 28, SRV: 33, ANY: 255 }

/**
 * Section 8.2: sort each side's records (class, type, rdata), compare pairwise; the side with
 * the lexicographically later data wins; more records win over a prefix. < 0: they win.
 */
export function compareAuthorities(ours: Answer[], theirs: Answer[]): number {
  const key = (r: Answer): Buffer => Buffer.concat([u16(TYPE_CODES[r.type] ?? 0), rdata(r)])
  const a = ours.map(key).sort(Buffer.compare)
  const b = theirs.map(key).sort(Buffer.compare)
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = Buffer.compare(a[i], b[i])
    if (c !== 0) return c
  }
  return a.length - b.length
}

function u16(n: number): Buffer {
  return Buffer.from([n >> 8, n & 0xff])
}

function rdata(r: Answer): Buffer {
  const data = (r as { data?: unknown }).data
  if (r.type === 'A' && typeof data === 'string') return Buffer.from(data.split('.').map(Number))
  if (Buffer.isBuffer(data)) return data
  return Buffer.from(JSON.stringify(data ?? null))
}
