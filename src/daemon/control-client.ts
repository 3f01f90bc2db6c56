import * as net from 'node:net'
import type { JsonValue } from './json-values'
import { encodeLine, LineSplitter, type ErrorBody, type Request, type Response, type WatchEvent } from './protocol'

/** The daemon could not be reached; `code` tells the CLI which exit status to use. */
export class DaemonUnreachable extends Error {
  constructor(
    readonly code: 'not-running' | 'denied' | 'timeout' | 'closed',
    message: string,
  ) {
    super(message)
    this.name = 'DaemonUnreachable'
  }
}

/** The daemon answered with an error (a DsnErrorCode, or DSN_NOT_FOUND / DSN_BAD_REQUEST). */
export class DaemonError extends Error {
  readonly code: string

  constructor(body: ErrorBody) {
    super(body.message)
    this.name = 'DaemonError'
    this.code = body.code
  }
}

const REQUEST_TIMEOUT_MS = 10_000
// Responses carry whole states (dsn get with no argument): allow far more than a request.
const MAX_RESPONSE_CHARS = 256 * 1024 * 1024

/** One connection to the daemon; requests are answered in order. */
export class ControlClient {
  private readonly pending: { resolve: (r: Response) => void; reject: (e: Error) => void }[] = []
  private readonly splitter = new LineSplitter(MAX_RESPONSE_CHARS)
  private onEvent: ((event: WatchEvent) => void) | undefined
  private closedError: Error | undefined
  readonly closed: Promise<void>

  private constructor(private readonly socket: net.Socket, private readonly socketPath: string) {
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      for (const line of this.splitter.push(chunk).lines) this.receive(line)
    })
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.closedError = new DaemonUnreachable('closed', `the daemon on ${socketPath} closed the connection`)
        for (const p of this.pending.splice(0)) p.reject(this.closedError)
        resolve()
      })
    })
    socket.on('error', () => undefined)
  }

  static connect(socketPath: string, timeoutMs = 2000): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(socketPath)
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new DaemonUnreachable('timeout', `the dsn daemon on ${socketPath} did not accept a connection within ${timeoutMs} ms`))
      }, timeoutMs)
      socket.once('connect', () => {
        clearTimeout(timer)
        resolve(new ControlClient(socket, socketPath))
      })
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer)
        reject(unreachable(socketPath, err))
      })
    })
  }

  /** Sends one request; resolves with its result, rejects with DaemonError or DaemonUnreachable. */
  async request(request: Request): Promise<JsonValue> {
    if (this.closedError) throw this.closedError
    const response = await new Promise<Response>((resolve, reject) => {
      const timer = setTimeout(() => reject(new DaemonUnreachable('timeout', `the dsn daemon on ${this.socketPath} did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`)), REQUEST_TIMEOUT_MS)
      this.pending.push({
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      })
      this.socket.write(encodeLine(request))
    })
    if (!response.ok) throw new DaemonError(response.error)
    return response.result
  }

  /** Asks for events; resolves when the connection ends (the daemon stopped, or close()). */
  async watch(onEvent: (event: WatchEvent) => void): Promise<void> {
    this.onEvent = onEvent
    await this.request({ op: 'watch' })
    await this.closed
  }

  close(): void {
    this.socket.end()
  }

  private receive(line: string): void {
    let message: Response | WatchEvent
    try {
      message = JSON.parse(line) as Response | WatchEvent
    } catch {
      return
    }
    if ('event' in message) {
      this.onEvent?.(message)
      return
    }
    this.pending.shift()?.resolve(message)
  }
}

function unreachable(socketPath: string, err: NodeJS.ErrnoException): DaemonUnreachable {
  switch (err.code) {
    case 'ENOENT':
    case 'ECONNREFUSED':
    case 'ENOTDIR':
      return new DaemonUnreachable(
        'not-running',
        `no dsn daemon is running on ${socketPath} (${err.code}): start one with \`dsn run\` (or systemctl start dsn), or point --socket / DSN_SOCKET at the right one`,
      )
    case 'EACCES':
    case 'EPERM':
      return new DaemonUnreachable('denied', `permission denied on ${socketPath}: run as the daemon's user, or join its group (the socket is mode 0660)`)
    default:
      return new DaemonUnreachable('not-running', `cannot reach the dsn daemon on ${socketPath}: ${err.code ?? err.message}`)
  }
}
