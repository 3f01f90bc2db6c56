import type { ServerResponse } from 'node:http'
import { toJson } from '../daemon/json-values'
import type { DsnNodeApi } from '../node/api'
import type { PeerDownEvent, PeerUpEvent, UpdateEvent } from '../node/events'
import type { ClusterView } from './cluster-view'

/**
 * GET /events: server-sent events, the feed of the dashboard and of scripts (`curl -N`).
 * A client first gets `snapshot` (every node, its state and the charts' history), then
 * `update`, `peer-up`, `peer-down` as the node emits them, and `links` (each peer's last heard,
 * missing datagrams) every LINKS_INTERVAL_MS. Updates are coalesced per key over FLUSH_MS, so
 * a write flood costs each client at most one write per FLUSH_MS, and the page stays usable.
 */
export const FLUSH_MS = 50
export const LINKS_INTERVAL_MS = 2000
/** Comment lines keep idle connections open through proxies and NAT. */
const KEEPALIVE_MS = 15_000
export const MAX_CLIENTS = 32
/** A client this far behind is cut off; the browser reconnects and starts from a new snapshot. */
const MAX_BUFFERED_BYTES = 1 << 20

export class EventStream {
  private readonly clients = new Set<ServerResponse>()
  /** Frames waiting for the next flush; an update of the same key replaces the older one. */
  private readonly pending = new Map<string, string>()
  private serial = 0
  private flushTimer: NodeJS.Timeout | null = null
  private linksTimer: NodeJS.Timeout | null = null
  private keepaliveTimer: NodeJS.Timeout | null = null
  private readonly detach: () => void

  constructor(
    node: DsnNodeApi,
    private readonly view: ClusterView,
  ) {
    const onUpdate = (e: UpdateEvent) => this.queue(`u\0${e.nodeId}\0${e.key}`, 'update', { nodeId: e.nodeId, key: e.key, value: toJson(e.value) ?? null, deleted: e.deleted, time: Date.now() })
    const onUp = (e: PeerUpEvent) => this.queue(`e${this.serial++}`, 'peer-up', { nodeId: e.nodeId, address: e.address, incarnation: e.incarnation, time: Date.now() })
    const onDown = (e: PeerDownEvent) => this.queue(`e${this.serial++}`, 'peer-down', { nodeId: e.nodeId, reason: e.reason, time: Date.now() })
    node.on('update', onUpdate)
    node.on('peer-up', onUp)
    node.on('peer-down', onDown)
    this.detach = () => {
      node.off('update', onUpdate)
      node.off('peer-up', onUp)
      node.off('peer-down', onDown)
    }
  }

  get size(): number {
    return this.clients.size
  }

  /** Takes over the response; false when full (the caller answers 503). */
  add(res: ServerResponse): boolean {
    if (this.clients.size >= MAX_CLIENTS) return false
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
    })
    res.write(`retry: 2000\n\n${frame('snapshot', this.view.snapshot(true))}`)
    this.clients.add(res)
    res.on('close', () => this.remove(res))
    if (this.clients.size === 1) this.startTimers()
    return true
  }

  close(): void {
    this.detach()
    for (const res of this.clients) res.end()
    this.clients.clear()
    this.stopTimers()
  }

  private remove(res: ServerResponse): void {
    this.clients.delete(res)
    if (this.clients.size === 0) this.stopTimers()
  }

  private queue(id: string, event: string, data: unknown): void {
    if (this.clients.size === 0) return
    this.pending.delete(id)
    this.pending.set(id, frame(event, data))
    this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS)
  }

  private flush(): void {
    this.flushTimer = null
    if (this.pending.size === 0) return
    const text = [...this.pending.values()].join('')
    this.pending.clear()
    this.broadcast(text)
  }

  private broadcast(text: string): void {
    for (const res of this.clients) {
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        res.destroy()
        this.remove(res)
      } else {
        res.write(text)
      }
    }
  }

  private startTimers(): void {
    this.linksTimer = setInterval(() => this.broadcast(frame('links', { time: Date.now(), peers: this.view.links() })), LINKS_INTERVAL_MS)
    this.keepaliveTimer = setInterval(() => this.broadcast(': keepalive\n\n'), KEEPALIVE_MS)
    this.linksTimer.unref()
    this.keepaliveTimer.unref()
  }

  private stopTimers(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer)
    if (this.linksTimer) clearInterval(this.linksTimer)
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer)
    this.flushTimer = this.linksTimer = this.keepaliveTimer = null
    this.pending.clear()
  }
}

/** One SSE frame; JSON.stringify never emits a raw line feed, so `data:` is one line. */
export function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
}
