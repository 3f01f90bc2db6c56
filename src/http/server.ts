import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { HttpSettings } from '../daemon/http-config'
import type { Logger } from '../daemon/logger'
import { DsnError } from '../errors'
import type { DsnNodeApi } from '../node/api'
import { Auth } from './auth'
import { ClusterView } from './cluster-view'
import { DASHBOARD_CSP, DASHBOARD_HTML } from './dashboard-page'
import { EventStream, MAX_CLIENTS } from './event-stream'
import { renderMetrics } from './metrics'

/**
 * The daemon's read-only HTTP listener: GET /metrics (Prometheus), / (the dashboard),
 * /state (JSON) and /events (server-sent events). The daemon loads this file lazily, only when
 * `http` is configured (daemon/http-hook.ts), so a daemon without it never evaluates it.
 */
export interface HttpServerOptions {
  node: DsnNodeApi
  settings: HttpSettings
  logger: Logger
  version: string
}

const processStartSeconds = Date.now() / 1000 - process.uptime()

export class HttpServer {
  private constructor(
    private readonly server: Server,
    private readonly view: ClusterView,
    private readonly events: EventStream,
    readonly url: string,
  ) {}

  static async start(o: HttpServerOptions): Promise<HttpServer> {
    const view = new ClusterView(o.node, o.version)
    const events = new EventStream(o.node, view)
    const auth = new Auth(o.settings.token)
    const server = createServer((req, res) => handle(req, res, { ...o, view, events, auth }))
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(o.settings.port, o.settings.host, () => {
          server.off('error', reject)
          resolve()
        })
      })
    } catch (err) {
      events.close()
      view.close()
      const e = err as NodeJS.ErrnoException
      const where = `http ${o.settings.host}:${o.settings.port}`
      if (e.code === 'EADDRINUSE') throw new DsnError('DSN_PORT_IN_USE', `${where}: the address is in use by another process`)
      throw new DsnError('DSN_SOCKET', `${where}: cannot listen (${e.code ?? e.message})`)
    }
    server.on('error', (err) => o.logger.warn('http-error', { error: err }))
    const { port } = server.address() as AddressInfo
    const host = o.settings.host.includes(':') ? `[${o.settings.host}]` : o.settings.host
    return new HttpServer(server, view, events, `http://${host}:${port}/`)
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port
  }

  /** Ends the event streams, closes every connection, stops listening. */
  async close(): Promise<void> {
    this.events.close()
    this.view.close()
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    this.server.closeAllConnections()
    await closed
  }
}

interface Context extends HttpServerOptions {
  view: ClusterView
  events: EventStream
  auth: Auth
}

const COMMON_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
}

function handle(req: IncomingMessage, res: ServerResponse, c: Context): void {
  for (const [name, value] of Object.entries(COMMON_HEADERS)) res.setHeader(name, value)
  let url: URL
  try {
    url = new URL(req.url ?? '/', 'http://dsn.invalid')
  } catch {
    return text(res, 400, 'bad request target')
  }
  const auth = c.auth.check(req, url)
  if (!auth.ok) {
    if (auth.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="dsn"')
    return text(res, auth.status, auth.message)
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD')
    return text(res, 405, 'read-only: GET and HEAD only')
  }
  try {
    switch (url.pathname) {
      case '/':
        res.setHeader('Content-Security-Policy', DASHBOARD_CSP)
        return send(res, req, 200, 'text/html; charset=utf-8', DASHBOARD_HTML)
      case '/metrics':
        return send(res, req, 200, 'text/plain; version=0.0.4; charset=utf-8', metricsText(c))
      case '/state':
        return send(res, req, 200, 'application/json; charset=utf-8', JSON.stringify(c.view.snapshot(url.searchParams.has('history'))) + '\n')
      case '/events':
        if (req.method === 'HEAD') return send(res, req, 200, 'text/event-stream; charset=utf-8', '')
        if (!c.events.add(res)) text(res, 503, `too many event streams (at most ${MAX_CLIENTS})`)
        return
      case '/favicon.ico':
        res.writeHead(204).end()
        return
      default:
        return text(res, 404, 'not found: try /, /metrics, /state or /events')
    }
  } catch (err) {
    c.logger.warn('http-error', { path: url.pathname, error: err instanceof Error ? err : new Error(String(err)) })
    if (!res.headersSent) text(res, 500, 'internal error (see the daemon log)')
    else res.destroy()
  }
}

function metricsText(c: Context): string {
  const { values, omitted } = c.view.numericValues()
  const cpu = process.cpuUsage()
  return renderMetrics({
    status: c.node.status(),
    version: c.version,
    values,
    valuesOmitted: omitted,
    process: {
      residentBytes: process.memoryUsage.rss(),
      heapUsedBytes: process.memoryUsage().heapUsed,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      startTimeSeconds: Math.round(processStartSeconds),
    },
  })
}

function send(res: ServerResponse, req: IncomingMessage, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) })
  res.end(req.method === 'HEAD' ? undefined : body)
}

function text(res: ServerResponse, status: number, message: string): void {
  const body = `${message}\n`
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) })
  res.end(body)
}
