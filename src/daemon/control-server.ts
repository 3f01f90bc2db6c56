import { promises as fs } from 'node:fs'
import * as net from 'node:net'
import { DsnError } from '../errors'
import type { DsnNodeApi } from '../node/api'
import type { MessageEvent, PeerDownEvent, PeerUpEvent, UpdateEvent } from '../node/events'
import { fromJson, toJson, type JsonValue } from './json-values'
import type { Logger } from './logger'
import { encodeLine, LineSplitter, parseRequest, SELF, type ErrorBody, type Request, type Response, type WatchEvent } from './protocol'

export interface ControlServerOptions {
  node: DsnNodeApi
  socketPath: string
  logger: Logger
  /** Extra fields of `status` about the daemon itself (pid, version, socket, log level). */
  daemonInfo: () => Record<string, JsonValue>
  /** Longest request line, characters: a value at the node's maxValueBytes fits in base64 with room. */
  maxLineChars?: number
  /** Socket file mode: 0660 lets the daemon's group in and keeps other users out. */
  socketMode?: number
}

// A watcher that stops reading is cut off once this much output waits for it.
const MAX_WATCH_BACKLOG_BYTES = 4 * 1024 * 1024
// Enough for a few scripts and watchers; each connection costs a little memory.
const MAX_CONNECTIONS = 64

export class ControlServer {
  private readonly server: net.Server
  private readonly watchers = new Set<net.Socket>()
  private readonly sockets = new Set<net.Socket>()
  private readonly unsubscribe: () => void

  private constructor(private readonly options: ControlServerOptions) {
    this.server = net.createServer((socket) => this.accept(socket))
    this.server.maxConnections = MAX_CONNECTIONS
    this.unsubscribe = this.subscribe()
  }

  /** Listens on a path already claimed (see claimSocketPath). */
  static async listen(options: ControlServerOptions): Promise<ControlServer> {
    const control = new ControlServer(options)
    // The socket must never exist with looser permissions, even for a moment: bind under a
    // tight umask (listen() on a path binds synchronously), then widen to the chosen mode.
    try {
      await new Promise<void>((resolve, reject) => {
        control.server.once('error', reject)
        const oldMask = process.umask(0o177)
        try {
          control.server.listen(options.socketPath, () => {
            control.server.off('error', reject)
            resolve()
          })
        } finally {
          process.umask(oldMask)
        }
      })
      await fs.chmod(options.socketPath, options.socketMode ?? 0o660)
    } catch (err) {
      control.unsubscribe()
      control.server.close()
      throw err
    }
    control.server.on('error', (err) => options.logger.error('control-error', { error: err }))
    return control
  }

  /** Tells watchers the daemon is stopping, closes every connection, removes the socket file. */
  async close(): Promise<void> {
    this.unsubscribe()
    for (const socket of this.watchers) socket.end(encodeLine({ event: 'stopping' }))
    for (const socket of this.sockets) if (!this.watchers.has(socket)) socket.end()
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    // Connections that do not finish in time are cut: stopping must not hang on a client.
    const timer = setTimeout(() => this.sockets.forEach((s) => s.destroy()), 500)
    await closed
    clearTimeout(timer)
    await fs.unlink(this.options.socketPath).catch(() => undefined)
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket)
    socket.setEncoding('utf8')
    const splitter = new LineSplitter(this.options.maxLineChars ?? 1024 * 1024)
    socket.on('data', (chunk: string) => {
      const { lines, overflow } = splitter.push(chunk)
      for (const line of lines) this.handle(socket, line)
      if (overflow) {
        this.reply(socket, { ok: false, error: { code: 'DSN_BAD_REQUEST', message: 'request line too long' } })
        socket.end()
      }
    })
    socket.on('error', () => socket.destroy())
    socket.on('close', () => {
      this.sockets.delete(socket)
      this.watchers.delete(socket)
    })
  }

  private handle(socket: net.Socket, line: string): void {
    const parsed = parseRequest(line)
    if (!parsed.ok) return this.reply(socket, { id: parsed.id, ok: false, error: parsed.error })
    this.options.logger.debug('control-request', { op: parsed.request.op })
    try {
      const result = this.execute(socket, parsed.request)
      this.reply(socket, { id: parsed.id, ok: true, result })
    } catch (err) {
      this.reply(socket, { id: parsed.id, ok: false, error: errorBody(err) })
    }
  }

  private execute(socket: net.Socket, request: Request): JsonValue {
    const { node } = this.options
    switch (request.op) {
      case 'ping':
        return { nodeId: node.nodeId, publicKey: node.publicKey }
      case 'set':
        node.set(request.key, fromJson(request.value))
        return null
      case 'del':
        return node.delete(request.key)
      case 'peers':
        return node.peers()
      case 'status':
        return { ...(toJson(node.status()) as Record<string, JsonValue>), daemon: this.options.daemonInfo() }
      case 'watch':
        this.watchers.add(socket)
        return 'watching'
      case 'get':
        return this.get(request.node, request.key)
    }
  }

  private get(nodeArg: string | undefined, key: string | undefined): JsonValue {
    const { node } = this.options
    const nodeId = nodeArg === undefined || nodeArg === SELF ? node.nodeId : nodeArg
    if (nodeArg === undefined && key === undefined) {
      const all: Record<string, JsonValue> = {}
      for (const id of node.peers()) {
        const state = node.state(id)
        if (state) Object.defineProperty(all, id, { value: toJson(state) ?? {}, enumerable: true })
      }
      return all
    }
    if (key === undefined) {
      const state = node.state(nodeId)
      if (!state) throw notFound(`no node ${JSON.stringify(nodeId)} is known (see dsn peers)`)
      return toJson(state) ?? {}
    }
    const value = node.get(nodeId, key)
    if (value === undefined) {
      throw notFound(node.state(nodeId) ? `node ${JSON.stringify(nodeId)} has no key ${JSON.stringify(key)}` : `no node ${JSON.stringify(nodeId)} is known (see dsn peers)`)
    }
    return toJson(value) ?? null
  }

  private subscribe(): () => void {
    const { node } = this.options
    const onUpdate = (e: UpdateEvent) => this.broadcast({ event: 'update', nodeId: e.nodeId, key: e.key, value: toJson(e.value), deleted: e.deleted })
    const onUp = (e: PeerUpEvent) => this.broadcast({ event: 'peer-up', nodeId: e.nodeId, incarnation: e.incarnation, address: e.address })
    const onDown = (e: PeerDownEvent) => this.broadcast({ event: 'peer-down', nodeId: e.nodeId, incarnation: e.incarnation, reason: e.reason })
    const onMessage = (e: MessageEvent) => this.broadcast({ event: 'message', from: e.from, data: toJson(e.data) })
    node.on('update', onUpdate)
    node.on('peer-up', onUp)
    node.on('peer-down', onDown)
    node.on('message', onMessage)
    return () => {
      node.off('update', onUpdate)
      node.off('peer-up', onUp)
      node.off('peer-down', onDown)
      node.off('message', onMessage)
    }
  }

  private broadcast(event: WatchEvent): void {
    if (this.watchers.size === 0) return
    const line = encodeLine(event)
    for (const socket of this.watchers) {
      if (socket.writableLength > MAX_WATCH_BACKLOG_BYTES) {
        this.options.logger.warn('watcher-dropped', { reason: 'not reading', backlogBytes: socket.writableLength })
        this.watchers.delete(socket)
        socket.destroy()
        continue
      }
      socket.write(line)
    }
  }

  private reply(socket: net.Socket, response: Response): void {
    if (!socket.destroyed) socket.write(encodeLine(response))
  }
}

function notFound(message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code: 'DSN_NOT_FOUND' })
}

function errorBody(err: unknown): ErrorBody {
  if (err instanceof DsnError) return { code: err.code, message: err.message }
  const e = err as { code?: unknown; message?: unknown }
  if (typeof e?.code === 'string' && e.code.startsWith('DSN_') && typeof e.message === 'string') return { code: e.code, message: e.message }
  return { code: 'DSN_INTERNAL', message: err instanceof Error ? err.message : String(err) }
}
