// One benchmark node in its own process on a lab host: a DSNode, a floor relay or an MQTT
// client, driven by JSON lines on stdin and reporting JSON lines on stdout. The protocol is
// test/mesh/fixtures/mesh-agent.ts's (same ops, same events, `t` = CLOCK_MONOTONIC in ms, one
// clock for every process on the machine) plus what a benchmark needs:
// an update filter (printing 10^4 updates/s as JSON would measure the harness, not the node),
// `burst` with a value base, `trickle` (paced writes), `load` (background writes), `rounds`
// (an event when every key of a write round holds that round's value) and `trace`.
// Usage: node --import tsx node-agent.ts '<options JSON>'
import { readdirSync, readFileSync } from 'node:fs'
import { constants, PerformanceObserver } from 'node:perf_hooks'
import { assertInLabNamespace } from '../../test/lab/guard'
import type { Store } from './stores'

if (process.argv.length < 3) process.exit(0)
assertInLabNamespace()

type Request = { id?: number; op: string; [field: string]: unknown }
type Print = 'all' | 'none' | { prefix: string }

interface AgentOptions {
  impl: 'dsn' | 'floor' | 'mqtt'
  nodeId: string
  print?: Print
  dsn?: Record<string, unknown> & { networkKey: string }
  floor?: { group: string; port: number; interfaceAddress: string }
  mqtt?: { host: string; port: number; qos: number; peers: string[] }
}

// CLOCK_MONOTONIC is one clock for every process on the machine. performance.timeOrigin is not:
// it is sampled at start-up, and a process preempted while starting skews it by milliseconds
// (a Mosquitto run under load once came out at p50 -12.8 ms).
const clock = () => Number(process.hrtime.bigint()) / 1e6
const out = (obj: Record<string, unknown>): void => {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

/**
 * Nanoseconds on a CPU so far: the main thread (JS, the event loop), and every other thread of
 * the process together (V8's compiler and GC helpers, libuv's pool). From /proc's schedstat;
 * null where the kernel does not keep it.
 */
function threadCpuNs(): { main: number; helpers: number } | null {
  let main = 0, helpers = 0
  let tids: string[]
  try {
    tids = readdirSync('/proc/self/task')
  } catch {
    return null
  }
  for (const tid of tids) {
    let ns = 0
    try {
      ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0])
    } catch {
      continue // a thread that ended since the listing
    }
    if (Number(tid) === process.pid) main = ns
    else helpers += ns
  }
  return main > 0 ? { main, helpers } : null
}

/** Per origin: how many keys of `prefix` reached each round (value div keys). */
class RoundTracker {
  private readonly roundOf = new Map<string, number>()
  private readonly reached = new Map<number, number>()
  constructor(readonly node: string, readonly prefix: string, readonly keys: number) {}

  update(key: string, value: unknown): void {
    if (!key.startsWith(this.prefix) || typeof value !== 'number') return
    const round = Math.floor(value / this.keys)
    const before = this.roundOf.get(key) ?? -1
    if (round <= before) return
    this.roundOf.set(key, round)
    for (let r = before + 1; r <= round; r++) {
      const n = (this.reached.get(r) ?? 0) + 1
      if (n === this.keys) {
        this.reached.delete(r)
        out({ ev: 'round', t: clock(), node: this.node, prefix: this.prefix, r })
      } else this.reached.set(r, n)
    }
  }
}

// Garbage collections so far and their time (main-thread pauses), from perf_hooks.
const gcSeen = { count: 0, ms: 0, scavenges: 0 }
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcSeen.count++
    gcSeen.ms += e.duration
    if (((e as unknown as { detail?: { kind?: number } }).detail)?.kind === constants.NODE_PERFORMANCE_GC_MINOR) gcSeen.scavenges++
  }
}).observe({ entryTypes: ['gc'] })

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2]) as AgentOptions
  const memBefore = process.memoryUsage().rss
  let trace: import('./trace').WireTrace | null = null
  let store: Store
  // Modules load first, so tStart is the moment DSNode.start (or connect) is called.
  const starter = await loadStarter(options)
  const tStart = clock()
  try {
    store = await starter()
  } catch (err) {
    out({ ev: 'start-failed', code: (err as { code?: string }).code, message: (err as Error).message })
    process.exit(2)
  }
  let print: Print = options.print ?? 'all'
  const trackers = new Map<string, RoundTracker>()
  store.on('update', (e: { nodeId: string; key: string; value: unknown; deleted: boolean }) => {
    if (print === 'all' || (print !== 'none' && e.key.startsWith(print.prefix))) out({ ev: 'update', t: clock(), ...e })
    trackers.get(e.nodeId)?.update(e.key, e.value)
  })
  store.on('peer-up', (e: object) => out({ ev: 'peer-up', t: clock(), ...e }))
  store.on('peer-down', (e: object) => out({ ev: 'peer-down', t: clock(), ...e }))
  store.on('error', (e: Error) => out({ ev: 'error', t: clock(), message: e.message }))
  const publicKey = (store as unknown as { publicKey?: string }).publicKey ?? ''
  out({ ev: 'ready', t: clock(), tStart, nodeId: store.nodeId, publicKey, memBefore })

  let load: NodeJS.Timeout | null = null
  let buffered = ''
  process.stdin.setEncoding('utf8')
  process.stdin.on('data', (chunk: string) => {
    buffered += chunk
    let nl: number
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      if (line.trim()) void handle(JSON.parse(line) as Request)
    }
  })

  const valueOf = (kind: unknown, n: number): unknown => (kind === 'str16' ? String(n).padStart(16, '0') : n)

  async function handle(req: Request): Promise<void> {
    const reply = (obj: Record<string, unknown>): void => out({ ev: 'reply', id: req.id, ...obj })
    try {
      switch (req.op) {
        case 'set': {
          const t = clock()
          store.set(req.key as string, req.value)
          // The reply (a JSON line, a pipe write) is the harness's, not the system's: it goes
          // after this turn of the event loop, so a system that sends at the end of the turn
          // (DSN coalesces a turn's writes into one datagram) does not wait behind it, while
          // one that sends inside set() (the floors, MQTT.js) already has.
          setImmediate(() => reply({ ok: true, t }))
          return
        }
        case 'burst': {
          const count = req.count as number, keys = (req.keys as number) ?? count, base = (req.base as number) ?? 0
          const t = clock()
          for (let i = 0; i < count; i++) store.set(`${req.prefix as string}${i % keys}`, base + i)
          return reply({ ok: true, t, t1: clock() })
        }
        case 'trickle': {
          // count writes of `${prefix}${i}` = base + i, one every intervalMs, paced on the clock.
          const count = req.count as number, base = (req.base as number) ?? 0, every = req.intervalMs as number
          const t = clock()
          let last = t
          for (let i = 0; i < count; i++) {
            const due = t + i * every
            const wait = due - clock()
            if (wait > 0) await new Promise((r) => setTimeout(r, wait))
            last = clock()
            store.set(`${req.prefix as string}${i}`, valueOf(req.kind, base + i))
          }
          return reply({ ok: true, t, tLast: last })
        }
        case 'load': {
          if (load) clearInterval(load)
          load = null
          const every = req.intervalMs as number
          if (every > 0) {
            let n = 0
            const keys = (req.keys as number) ?? 100
            load = setInterval(() => store.set(`${req.prefix as string}${n % keys}`, n++), every)
          }
          return reply({ ok: true })
        }
        case 'print':
          print = req.print as Print
          return reply({ ok: true })
        case 'rounds':
          trackers.set(req.node as string, new RoundTracker(req.node as string, req.prefix as string, req.keys as number))
          return reply({ ok: true })
        case 'del':
          return reply({ ok: true, deleted: store.delete(req.key as string) })
        case 'get':
          return reply({ ok: true, value: store.get(req.node as string, req.key as string) })
        case 'state': {
          const state = store.state(req.node as string) ?? {}
          const prefix = req.prefix as string | undefined
          const picked = prefix === undefined ? state : Object.fromEntries(Object.entries(state).filter(([k]) => k.startsWith(prefix)))
          return reply({ ok: true, state: picked })
        }
        case 'peers':
          return reply({ ok: true, peers: store.peers() })
        case 'status':
          return reply({ ok: true, status: store.status() })
        case 'memory':
          return reply({ ok: true, t: clock(), memory: process.memoryUsage(), cpu: process.cpuUsage(), threads: threadCpuNs(), gc: { ...gcSeen }, memBefore })
        case 'trace-on': {
          // Wraps dgram's prototype, so it takes effect on the node's open sockets at once.
          if (!options.dsn) throw new Error('trace is for DSN nodes')
          const { WireTrace } = await import('./trace')
          trace ??= new WireTrace(options.dsn.networkKey, String(options.dsn.cluster ?? 'default'), options.nodeId)
          trace.install()
          trace.reset()
          return reply({ ok: true })
        }
        case 'trace-off':
          trace?.uninstall()
          return reply({ ok: true, trace: trace?.data() ?? null })
        case 'stop':
          if (load) clearInterval(load)
          await store.stop()
          reply({ ok: true })
          process.exit(0)
      }
      reply({ ok: false, message: `unknown op ${req.op}` })
    } catch (err) {
      reply({ ok: false, code: (err as { code?: string }).code, message: (err as Error).message })
    }
  }
}

async function loadStarter(options: AgentOptions): Promise<() => Promise<Store>> {
  if (options.impl === 'dsn') {
    const { DSNode } = await import('../../src/index')
    const dsn = { nodeId: options.nodeId, ...(options.dsn as { networkKey: string }) }
    return async () => (await DSNode.start(dsn)) as unknown as Store
  }
  const { FloorStore, MqttStore } = await import('./stores')
  if (options.impl === 'floor') {
    const floor = { nodeId: options.nodeId, ...(options.floor as NonNullable<AgentOptions['floor']>) }
    return () => FloorStore.start(floor)
  }
  const mqtt = { nodeId: options.nodeId, ...(options.mqtt as NonNullable<AgentOptions['mqtt']>) }
  return () => MqttStore.start(mqtt)
}

void main()
