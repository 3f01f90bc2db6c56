import { unlinkSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import type { DsnConfig, DsnOptions } from '../config'
import type { MqttBridge } from '../mqtt/bridge'
import type { DsnNodeApi } from '../node/api'
import type { MessageEvent, PeerDownEvent, PeerUpEvent, UpdateEvent } from '../node/events'
import { ControlServer } from './control-server'
import { startHttpServer, type HttpServer } from './http-hook'
import type { Logger } from './logger'
import { startMqttHook } from './mqtt-hook'
import type { RunSettings } from './run-config'
import { claimSocketPath, SocketPathError } from './socket-path'

export interface DaemonDeps {
  startNode: (options: DsnOptions) => Promise<DsnNodeApi>
  /** Reads the settings again, for SIGHUP (the config file may have changed). */
  reloadSettings: () => RunSettings
  logger: Logger
  version: string
  /** Install SIGTERM/SIGINT/SIGHUP and crash handlers: `dsn run` does; tests call stop()/reload(). */
  handleSignals?: boolean
}

export interface DaemonExit {
  reason: string
  /** Set when stopping went wrong (the node did not stop in time, for instance). */
  error?: Error
}

export interface ReloadResult {
  /** Settings applied to the running daemon. */
  applied: string[]
  /** Settings that changed but take a restart. */
  needsRestart: string[]
}

/** What SIGHUP can change without a restart; everything else in the config needs one. */
export const RELOADABLE = ['logLevel'] as const

// Stopping waits this long for the node's goodbye and socket close before giving up.
const STOP_TIMEOUT_MS = 5000
// How long the first heartbeat is waited for (for the `first-heartbeat` log line).
const FIRST_HEARTBEAT_WAIT_MS = 10_000

/** The running daemon: one node, its control socket, its logs, its signals. */
export class Daemon {
  readonly done: Promise<DaemonExit>
  private resolveDone!: (exit: DaemonExit) => void
  private stopping: Promise<void> | undefined
  private readonly removeHandlers: (() => void)[] = []
  /** The metrics/dashboard listener, when `http` is configured (see http-hook.ts). */
  private http: HttpServer | undefined
  /** The MQTT bridge, when `mqtt` is configured (issue 10). */
  private mqtt: MqttBridge | undefined

  private constructor(
    private settings: RunSettings,
    readonly node: DsnNodeApi,
    private readonly control: ControlServer,
    private readonly deps: DaemonDeps,
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve))
  }

  /**
   * Claims the socket path (refusing when another daemon answers on it, removing a stale one),
   * starts the node, then opens the control socket, so a client never reaches a daemon without a node.
   */
  static async start(settings: RunSettings, deps: DaemonDeps): Promise<Daemon> {
    const { logger } = deps
    const { config, socketPath } = settings
    for (const warning of settings.warnings) logger.warn('config-warning', { warning })
    if ((await claimSocketPath(socketPath)) === 'stale-removed') logger.warn('stale-socket-removed', { socket: socketPath })
    logger.info('starting', { version: deps.version, pid: process.pid, ...describeConfig(config), socket: socketPath, configFile: settings.configPath })
    const startedAt = performance.now()
    const node = await deps.startNode(config)
    let control: ControlServer
    try {
      control = await ControlServer.listen({ node, socketPath, logger, daemonInfo: () => daemon.info(), maxLineChars: 4 * config.maxValueBytes + 65536 })
    } catch (err) {
      await node.stop().catch(() => undefined)
      // Two daemons that claimed a free path at the same instant: the later listen() loses.
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new SocketPathError('in-use', `another dsn daemon is answering on ${socketPath}; stop it first, or give this one its own --socket`)
      }
      throw err
    }
    const daemon: Daemon = new Daemon(settings, node, control, deps)
    if (node.restored) {
      for (const warning of node.restored.warnings) logger.warn('state-not-restored', { warning })
      logger.info('state-restored', { file: node.restored.file, keys: node.restored.keys })
    }
    try {
      await daemon.startHttp()
    } catch (err) {
      await control.close()
      await node.stop().catch(() => undefined)
      throw err
    }
    daemon.logEvents()
    if (deps.handleSignals) daemon.installHandlers()
    logger.info('started', { nodeId: node.nodeId, publicKey: node.publicKey, startupMs: Math.round(performance.now() - startedAt), sinceProcessStartMs: Math.round(performance.now()) })
    daemon.watchFirstHeartbeat()
    // After `started`: the mesh never waits for MQTT.js to load, nor for the broker.
    daemon.mqtt = startMqttHook(settings.mqtt, node, config.cluster, logger, deps.version)
    return daemon
  }

  info(): Record<string, string | number | Record<string, number | boolean>> {
    const info: Record<string, string | number | Record<string, number | boolean>> = { pid: process.pid, version: this.deps.version, socket: this.settings.socketPath, logLevel: this.deps.logger.level, memoryKB: memoryKB() }
    if (this.http) info.http = this.http.url
    if (this.mqtt) info.mqtt = this.mqtt.stats()
    return info
  }

  private async startHttp(): Promise<void> {
    const http = this.settings.http
    if (!http) return
    this.http = await startHttpServer({ node: this.node, settings: http, logger: this.deps.logger, version: this.deps.version })
    this.deps.logger.info('http-listening', { url: this.http.url, token: http.token !== undefined })
  }

  /** Says goodbye to the mesh, closes the control socket (watchers get `stopping`), resolves done. */
  stop(reason: string): Promise<void> {
    if (this.stopping) return this.stopping
    const { logger } = this.deps
    this.stopping = (async () => {
      logger.info('stopping', { reason })
      let error: Error | undefined
      await this.control.close()
      await this.http?.close()
      // Before the node: the bridge marks this node offline while it can still publish.
      await this.mqtt?.stop().catch((err: unknown) => logger.warn('mqtt-stop-failed', { error: err instanceof Error ? err : new Error(String(err)) }))
      try {
        await withTimeout(this.node.stop(), STOP_TIMEOUT_MS, 'the node did not stop')
      } catch (err) {
        error = err instanceof Error ? err : new Error(String(err))
        logger.error('stop-failed', { error })
      }
      logger.info('stopped', { reason })
      this.removeHandlers.forEach((remove) => remove())
      this.resolveDone({ reason, error })
    })()
    return this.stopping
  }

  /** SIGHUP: re-reads the config file and environment; applies what can be applied live. */
  reload(): ReloadResult | undefined {
    const { logger } = this.deps
    let next: RunSettings
    try {
      next = this.deps.reloadSettings()
    } catch (err) {
      logger.error('reload-failed', { error: err instanceof Error ? err : new Error(String(err)), kept: 'the running settings' })
      return undefined
    }
    const applied: string[] = []
    if (next.logLevel !== logger.level) {
      logger.level = next.logLevel
      applied.push('logLevel')
    }
    const needsRestart = changedFields(this.settings.config, next.config)
    if (next.socketPath !== this.settings.socketPath) needsRestart.push('socket')
    if (JSON.stringify(next.http) !== JSON.stringify(this.settings.http)) needsRestart.push('http')
    if (JSON.stringify(next.mqtt) !== JSON.stringify(this.settings.mqtt)) needsRestart.push('mqtt')
    this.settings = { ...next, config: this.settings.config, socketPath: this.settings.socketPath, http: this.settings.http, mqtt: this.settings.mqtt }
    logger.info('reloaded', { reloadable: [...RELOADABLE], applied, needsRestart, logLevel: logger.level })
    return { applied, needsRestart }
  }

  private logEvents(): void {
    const { logger } = this.deps
    this.node.on('peer-up', (e: PeerUpEvent) => logger.info('peer-up', { nodeId: e.nodeId, incarnation: e.incarnation, address: e.address }))
    this.node.on('peer-down', (e: PeerDownEvent) => logger.info('peer-down', { nodeId: e.nodeId, incarnation: e.incarnation, reason: e.reason }))
    // Values are left out: they may be large, and they are the users' data, not the daemon's.
    this.node.on('update', (e: UpdateEvent) => logger.debug('update', { nodeId: e.nodeId, key: e.key, deleted: e.deleted }))
    this.node.on('message', (e: MessageEvent) => logger.debug('message', { from: e.from }))
    this.node.on('error', (error: Error) => logger.warn('node-error', { error }))
  }

  private watchFirstHeartbeat(): void {
    const sent = () => {
      const counters = this.node.status().counters
      return (counters['heartbeats-signed'] ?? 0) + (counters['heartbeats'] ?? 0) > 0
    }
    const report = () => this.deps.logger.info('first-heartbeat', { sinceProcessStartMs: Math.round(performance.now()) })
    if (sent()) return report()
    const deadline = performance.now() + FIRST_HEARTBEAT_WAIT_MS
    const timer = setInterval(() => {
      if (this.stopping || performance.now() > deadline) return clearInterval(timer)
      if (sent()) {
        clearInterval(timer)
        report()
      }
    }, 2)
    timer.unref()
  }

  private installHandlers(): void {
    const { logger } = this.deps
    const onStop = (signal: unknown) => {
      if (this.stopping) {
        logger.warn('forced-exit', { signal })
        this.unlinkSocket()
        process.exit(1)
      }
      void this.stop(String(signal))
    }
    const onHup = () => void this.reload()
    // A crash must not leave a socket behind that blocks the next start (a SIGKILL still can:
    // claimSocketPath removes a socket nobody answers on).
    const onCrash = (error: unknown) => {
      logger.error('crash', { error: error instanceof Error ? error : new Error(String(error)) })
      this.unlinkSocket()
      process.exit(1)
    }
    const add = (event: string, handler: (arg: unknown) => void) => {
      process.on(event, handler)
      this.removeHandlers.push(() => process.off(event, handler))
    }
    add('SIGTERM', onStop)
    add('SIGINT', onStop)
    add('SIGHUP', onHup)
    add('uncaughtException', onCrash)
    add('unhandledRejection', onCrash)
  }

  private unlinkSocket(): void {
    try {
      unlinkSync(this.settings.socketPath)
    } catch {
      // already gone
    }
  }
}

/** Where the daemon's memory is (for `dsn status --json` and bench:footprint), kB. */
function memoryKB(): Record<string, number> {
  const m = process.memoryUsage()
  const kb = (n: number) => Math.round(n / 1024)
  return { rss: kb(m.rss), heapTotal: kb(m.heapTotal), heapUsed: kb(m.heapUsed), external: kb(m.external), arrayBuffers: kb(m.arrayBuffers) }
}

/** The config as logged at start: everything but keys (allowed node keys are public, but long). */
function describeConfig(config: DsnConfig): Record<string, unknown> {
  return {
    nodeId: config.nodeId,
    cluster: config.cluster,
    group: config.group,
    port: config.port,
    interface: config.interface,
    unicastPort: config.unicastPort,
    staticPeers: config.staticPeers,
    multicast: config.multicast,
    mdns: config.mdns,
    credentialDir: config.credentialDir,
    persistPath: config.persistPath ?? null,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    peerTimeoutMs: config.peerTimeoutMs,
    allowedKeys: config.allowedKeys.length,
  }
}

/** Names of the fields that differ; the key fields are compared but never shown by value. */
export function changedFields(before: DsnConfig, after: DsnConfig): string[] {
  const fields = new Set([...Object.keys(before), ...Object.keys(after)] as (keyof DsnConfig)[])
  return [...fields].filter((f) => JSON.stringify(before[f]) !== JSON.stringify(after[f])).sort()
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
