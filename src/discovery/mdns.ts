// The mDNS shell: one multicast-dns socket and one timer feeding the pure records.ts (what we
// publish and answer) and peers.ts (what others publish). No protocol decisions are made here.
import { EventEmitter } from 'node:events'
import { isIPv4 } from 'node:net'
import * as os from 'node:os'
import { randomInt } from 'node:crypto'
import type { RemoteInfo } from 'node:dgram'
import type { Packet } from 'dns-packet'
import makeMdns = require('multicast-dns')
import { DsnError } from '../errors'
import { HostNameClaim } from './host-name'
import { DiscoveredPeer, parseResponse, PeerTable } from './peers'
import {
  announcement,
  browseQuery,
  buildRecords,
  DEFAULT_TTL_SECONDS,
  goodbye,
  MdnsAdvert,
  MDNS_PORT,
  OwnRecords,
  respondTo,
} from './records'

export type { MdnsAdvert } from './records'
export type { DiscoveredPeer } from './peers'

export interface MdnsOptions {
  /** IPv4 address of the interface to use. Default: every interface, advertising the first non-internal IPv4. */
  interfaceAddress?: string
  /** TTL of every published record, seconds. Default 120 (RFC 6762 section 10). */
  ttlSeconds?: number
  /** Most peers remembered at once; more are dropped and counted (stats.peersDropped). Default 1024. */
  maxPeers?: number
}

export interface MdnsStats {
  /** mDNS query packets received. */
  queries: number
  /** mDNS response packets received (including our own, looped back). */
  responses: number
  /** Packets that did not decode, and `_dsn._udp` records with unusable contents. */
  malformed: number
  /** New peers ignored because maxPeers were known. */
  peersDropped: number
  /** Responses that held a record of our host name with other data (RFC 6762 section 9). */
  hostNameConflicts: number
}

/** RFC 6762 section 8.3: the second announcement one second after the first. */
const ANNOUNCE_REPEAT_MS = 1000
const DEFAULT_MAX_PEERS = 1024

type MulticastDns = ReturnType<typeof makeMdns>

/**
 * Advertises this node as `<nodeId>@<cluster>._dsn._udp.local` and browses for other nodes.
 * Events: 'peer' (DiscoveredPeer, every cluster: the caller filters), 'peer-gone'
 * ({ nodeId, cluster }), 'error' (Error; socket trouble after start, emitted only if listened to).
 * The SRV target is a host name of the node's own (host-name.ts), probed before the records are
 * announced and defended after. Deliberate simplification: answers go out at once, without the
 * 20-120 ms random delay of section 6 for shared records, which matters only with hundreds of
 * responders per query.
 */
export class MdnsDiscovery extends EventEmitter {
  readonly stats: MdnsStats = { queries: 0, responses: 0, malformed: 0, peersDropped: 0, hostNameConflicts: 0 }
  private readonly options: MdnsOptions
  private own: OwnRecords | undefined
  private table: PeerTable | undefined
  private mdns: MulticastDns | undefined
  private repeat: NodeJS.Timeout | undefined
  private claim: HostNameClaim | undefined
  private claimTimer: NodeJS.Timeout | undefined
  private announced = false
  private starting: Promise<void> | undefined
  private stopping: Promise<void> | undefined

  constructor(
    private readonly advert: MdnsAdvert,
    options: MdnsOptions = {},
  ) {
    super()
    this.options = { ...options }
  }

  /** Our service instance name, e.g. `n1@lab._dsn._udp.local` (set by start()). */
  get instance(): string | undefined {
    return this.own?.instance
  }

  /** Our own host name (the SRV target), e.g. `dsn-n1-1a2b3c4d.local`; it changes on a conflict. */
  get hostName(): string | undefined {
    return this.claim?.name
  }

  /** Whether the host name is claimed (probed with no conflict) and our records announced. */
  get claimed(): boolean {
    return this.claim?.state === 'claimed'
  }

  /** The peers currently known. */
  peers(): DiscoveredPeer[] {
    return this.table?.list() ?? []
  }

  start(): Promise<void> {
    if (this.stopping) return Promise.reject(new DsnError('DSN_STOPPED', 'mDNS discovery was stopped'))
    return (this.starting ??= this.open())
  }

  /** Browse again: every node answers with its records. */
  query(): void {
    if (this.mdns && !this.stopping) this.send(browseQuery())
  }

  stop(): Promise<void> {
    return (this.stopping ??= this.close())
  }

  private async open(): Promise<void> {
    const address = advertisedAddress(this.options.interfaceAddress)
    const ttl = this.options.ttlSeconds ?? DEFAULT_TTL_SECONDS
    const claim = new HostNameClaim(this.advert.nodeId, this.advert.cluster, address, () => randomInt(1 << 30) / (1 << 30), Date.now())
    this.claim = claim
    const own = buildRecords(this.advert, claim.name, address, ttl)
    this.own = own
    this.table = new PeerTable({ nodeId: this.advert.nodeId, cluster: this.advert.cluster, instance: own.instance }, this.options.maxPeers ?? DEFAULT_MAX_PEERS)
    const mdns = makeMdns({
      interface: this.options.interfaceAddress,
      // Linux delivers no multicast to a socket bound to a unicast address, so with an explicit
      // interface we still bind the wildcard; membership and sending use the interface.
      bind: this.options.interfaceAddress ? '0.0.0.0' : undefined,
      reuseAddr: true, // several nodes (and avahi) share port 5353 on one host
      loopback: true, // so nodes on one host hear each other
    })
    this.mdns = mdns
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error): void => {
        mdns.removeListener('ready', ready)
        reject(new DsnError(socketCode(err), `mDNS socket on port ${MDNS_PORT}: ${err.message}`))
      }
      const ready = (): void => {
        mdns.removeListener('error', fail)
        resolve()
      }
      mdns.once('ready', ready)
      mdns.once('error', fail)
    }).catch(async (err: unknown) => {
      this.mdns = undefined
      await new Promise<void>((r) => mdns.destroy(() => r()))
      throw err
    })
    mdns.on('error', (err: Error) => this.fail(err))
    mdns.on('warning', (err: Error) => this.onWarning(err))
    mdns.on('query', (packet: Packet, rinfo: RemoteInfo) => this.guard(() => this.onQuery(packet, rinfo)))
    mdns.on('response', (packet: Packet, rinfo: RemoteInfo) => this.guard(() => this.onResponse(packet, rinfo)))
    if (this.stopping) return
    // Browsing needs no name of ours; announcing waits for the host name's claim.
    this.send(browseQuery())
    this.driveClaim()
  }

  /** Feeds the claim the time, sends its probes, announces once claimed; one timer. */
  private driveClaim(): void {
    const claim = this.claim
    if (!claim || !this.mdns || this.stopping) return
    if (this.claimTimer) clearTimeout(this.claimTimer)
    this.claimTimer = undefined
    const now = Date.now()
    for (const probe of claim.tick(now)) this.send(probe)
    if (claim.takeClaimed()) this.announce(claim)
    const next = claim.nextDeadline()
    if (next !== Infinity) this.claimTimer = setTimeout(() => this.driveClaim(), Math.max(0, next - now))
  }

  /** RFC 6762 section 8.3: announce, and again one second later. */
  private announce(claim: HostNameClaim): void {
    const old = this.own
    if (!old) return
    const own = old.host === claim.name ? old : buildRecords(this.advert, claim.name, (old.a as { data: string }).data, (old.a as { ttl: number }).ttl)
    if (own !== old) this.send(goodbye(old))
    this.own = own
    if (this.repeat) clearTimeout(this.repeat)
    this.announced = true
    this.send(announcement(own))
    this.repeat = setTimeout(() => {
      this.repeat = undefined
      if (this.own === own && claim.state === 'claimed') this.send(announcement(own))
    }, ANNOUNCE_REPEAT_MS)
  }

  private async close(): Promise<void> {
    await this.starting?.catch(() => undefined)
    if (this.repeat) clearTimeout(this.repeat)
    if (this.claimTimer) clearTimeout(this.claimTimer)
    this.repeat = undefined
    this.claimTimer = undefined
    const mdns = this.mdns
    if (!mdns || !this.own) return
    this.mdns = undefined
    // Records never announced (the first claim still probing) need no goodbye.
    if (!this.announced) {
      await new Promise<void>((resolve) => mdns.destroy(() => resolve()))
      return
    }
    const bye = goodbye(this.own)
    await new Promise<void>((resolve) => mdns.respond(bye as makeMdns.ResponseOutgoingPacket, () => resolve()))
    await new Promise<void>((resolve) => mdns.destroy(() => resolve()))
  }

  private onQuery(packet: Packet, rinfo: RemoteInfo): void {
    this.stats.queries++
    if (!this.own) return
    if (this.claim) {
      this.claim.onQuery(packet, Date.now())
      this.driveClaim()
      // While probing, the name is not ours yet: answer nothing.
      if (this.claim.state !== 'claimed') return
    }
    const legacy = rinfo.port !== MDNS_PORT
    const reply = respondTo(this.own, packet, legacy)
    if (reply) this.send(reply, legacy ? { address: rinfo.address, port: rinfo.port } : undefined)
  }

  private onResponse(packet: Packet, rinfo: RemoteInfo): void {
    this.stats.responses++
    // RFC 6762 section 6: responses not sent from port 5353 are not mDNS and are ignored.
    if (rinfo.port !== MDNS_PORT || !this.table) return
    if (this.claim) {
      const before = this.claim.conflicts
      this.claim.onResponse(packet, Date.now())
      if (this.claim.conflicts > before) {
        this.stats.hostNameConflicts++
        this.driveClaim()
      }
    }
    const { observations, malformed } = parseResponse(packet, rinfo.address)
    this.stats.malformed += malformed
    const events = this.table.observe(observations, rinfo.address)
    this.stats.peersDropped = this.table.dropped
    for (const e of events) {
      if (e.type === 'peer') this.emit('peer', e.peer)
      else this.emit('peer-gone', { nodeId: e.nodeId, cluster: e.cluster })
    }
  }

  /** A listener that throws must not take the socket's event loop down with it. */
  private guard(fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.stats.malformed++
      this.fail(err as Error)
    }
  }

  // multicast-dns reports undecodable packets and socket trouble alike as 'warning'; only
  // errors from the socket carry `syscall`.
  private onWarning(err: Error): void {
    if ((err as NodeJS.ErrnoException).syscall === undefined) this.stats.malformed++
    else this.fail(err)
  }

  private fail(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err)
  }

  private send(packet: Packet, to?: { address: string; port: number }): void {
    const mdns = this.mdns
    if (!mdns) return
    const done = (err: Error | null): void => {
      if (err) this.fail(err)
    }
    if (packet.type === 'query') mdns.query(packet as makeMdns.QueryOutgoingPacket, undefined, done)
    else mdns.respond(packet as makeMdns.ResponseOutgoingPacket, to, done)
  }
}

function socketCode(err: Error): 'DSN_PORT_IN_USE' | 'DSN_SOCKET' {
  return (err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'DSN_PORT_IN_USE' : 'DSN_SOCKET'
}

/** The A record's address: the chosen interface, else the first non-internal IPv4, else loopback. */
export function advertisedAddress(interfaceAddress: string | undefined): string {
  const all = Object.values(os.networkInterfaces()).flatMap((list) => list ?? [])
  const v4 = all.filter((i) => i.family === 'IPv4' || (i.family as unknown) === 4)
  if (interfaceAddress !== undefined) {
    if (!isIPv4(interfaceAddress) || !v4.some((i) => i.address === interfaceAddress)) {
      throw new DsnError('DSN_NO_INTERFACE', `mDNS interfaceAddress ${interfaceAddress} is not an IPv4 address of this host`)
    }
    return interfaceAddress
  }
  return v4.find((i) => !i.internal)?.address ?? '127.0.0.1'
}
