import { toJson, type JsonValue } from '../daemon/json-values'
import type { DsnNodeApi } from '../node/api'
import type { PeerDownEvent, PeerStatus, PeerUpEvent, UpdateEvent } from '../node/events'

/**
 * What the HTTP side knows beyond node.state(): which peers went down and when, and a short
 * history of each numeric key for the dashboard's charts. Fed by the node's own events.
 * Everything here is bounded: points per key, series in all, down nodes remembered.
 */
export const HISTORY_POINTS = 120
/** Points closer than this replace the last one, so a write flood keeps a minute of history, not a second. */
export const HISTORY_SPACING_MS = 500
export const MAX_SERIES = 2000
export const MAX_DOWN_NODES = 64
/** dsn_value series at most: the state limits allow maxPeers x maxKeysPerNode, far too many for a scrape. */
export const MAX_VALUE_SERIES = 10_000

export type Point = [number, number]

export interface LinkView {
  address: string
  incarnation: number
  lastHeardMs: number
  /** Datagrams known to exist but not yet received (repair in progress). */
  missing: number
  keys: number
}

export interface NodeView {
  nodeId: string
  self: boolean
  up: boolean
  /** Epoch ms of the last up/down change seen here (the daemon's start for nodes up at start). */
  since: number
  downReason?: string
  state: Record<string, JsonValue>
  link: LinkView | null
}

export interface ClusterSnapshot {
  self: string
  cluster: string
  version: string
  time: number
  nodes: NodeView[]
}

export class ClusterView {
  /** "node\0key" -> points, in least-recently-updated order (Map order), for eviction. */
  private readonly history = new Map<string, Point[]>()
  private readonly down = new Map<string, { since: number; reason: string }>()
  private readonly upSince = new Map<string, number>()
  private readonly listeners: Array<[string, (e: never) => void]> = []

  constructor(
    private readonly node: DsnNodeApi,
    private readonly version: string,
    private readonly now: () => number = Date.now,
  ) {
    const t = now()
    for (const id of node.peers()) {
      this.upSince.set(id, t)
      for (const [key, value] of Object.entries(node.state(id) ?? {})) this.record(id, key, value, t)
    }
    this.listen('update', (e: UpdateEvent) => this.onUpdate(e))
    this.listen('peer-up', (e: PeerUpEvent) => {
      this.down.delete(e.nodeId)
      this.upSince.set(e.nodeId, this.now())
    })
    this.listen('peer-down', (e: PeerDownEvent) => {
      this.upSince.delete(e.nodeId)
      this.down.delete(e.nodeId)
      this.down.set(e.nodeId, { since: this.now(), reason: e.reason })
      if (this.down.size > MAX_DOWN_NODES) this.down.delete(this.down.keys().next().value as string)
    })
  }

  close(): void {
    for (const [event, fn] of this.listeners) this.node.off(event, fn as (e: unknown) => void)
  }

  snapshot(withHistory = false): ClusterSnapshot & { history?: Record<string, Record<string, Point[]>> } {
    const status = this.node.status()
    const links = new Map(status.peers.map((p) => [p.nodeId, linkOf(p)]))
    const nodes: NodeView[] = this.node.peers().map((id) => ({
      nodeId: id,
      self: id === status.nodeId,
      up: true,
      since: this.upSince.get(id) ?? this.now(),
      state: jsonState(this.node.state(id)),
      link: links.get(id) ?? null,
    }))
    for (const [id, d] of this.down) {
      if (!nodes.some((n) => n.nodeId === id)) nodes.push({ nodeId: id, self: false, up: false, since: d.since, downReason: d.reason, state: {}, link: null })
    }
    const snapshot = { self: status.nodeId, cluster: status.cluster, version: this.version, time: this.now(), nodes }
    return withHistory ? { ...snapshot, history: this.historyJson() } : snapshot
  }

  links(): Array<LinkView & { nodeId: string }> {
    return this.node.status().peers.map((p) => ({ nodeId: p.nodeId, ...linkOf(p) }))
  }

  /** Numeric values of live nodes for dsn_value, sorted, at most MAX_VALUE_SERIES. */
  numericValues(): { values: Array<[string, string, number]>; omitted: number } {
    const values: Array<[string, string, number]> = []
    let omitted = 0
    for (const id of this.node.peers()) {
      const state = this.node.state(id) ?? {}
      for (const key of Object.keys(state).sort()) {
        const n = numeric(state[key])
        if (n === undefined) continue
        if (values.length < MAX_VALUE_SERIES) values.push([id, key, n])
        else omitted++
      }
    }
    return { values, omitted }
  }

  private onUpdate(e: UpdateEvent): void {
    if (e.deleted) this.history.delete(seriesId(e.nodeId, e.key))
    else this.record(e.nodeId, e.key, e.value, this.now())
  }

  private record(nodeId: string, key: string, value: unknown, t: number): void {
    const v = numeric(value)
    const id = seriesId(nodeId, key)
    if (v === undefined || !Number.isFinite(v)) {
      this.history.delete(id)
      return
    }
    const points = this.history.get(id) ?? []
    this.history.delete(id)
    this.history.set(id, points)
    const last = points[points.length - 1]
    if (last && t - last[0] < HISTORY_SPACING_MS) last[1] = v
    else points.push([t, v])
    if (points.length > HISTORY_POINTS) points.shift()
    if (this.history.size > MAX_SERIES) this.history.delete(this.history.keys().next().value as string)
  }

  private historyJson(): Record<string, Record<string, Point[]>> {
    const out: Record<string, Record<string, Point[]>> = {}
    for (const [id, points] of this.history) {
      const [nodeId, key] = id.split('\0', 2)
      ;(out[nodeId] ??= {})[key] = points.map((p) => [p[0], p[1]])
    }
    return out
  }

  private listen<T>(event: string, fn: (e: T) => void): void {
    this.node.on(event, fn)
    this.listeners.push([event, fn as (e: never) => void])
  }
}

/** Numbers as they are, booleans as 0/1 (a door open or shut graphs well); nothing else. */
export function numeric(value: unknown): number | undefined {
  if (typeof value === 'number') return value
  if (typeof value === 'boolean') return value ? 1 : 0
  if (typeof value === 'bigint') return Number(value)
  return undefined
}

function seriesId(nodeId: string, key: string): string {
  return `${nodeId}\0${key}`
}

function linkOf(p: PeerStatus): LinkView {
  return { address: p.address, incarnation: p.incarnation, lastHeardMs: p.lastHeardMsAgo, missing: Math.max(0, p.latestSeq - p.contiguousSeq), keys: p.keys }
}

function jsonState(state: Readonly<Record<string, unknown>> | undefined): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {}
  for (const [key, value] of Object.entries(state ?? {})) out[key] = toJson(value) ?? null
  return out
}
