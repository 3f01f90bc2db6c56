// The benchmark's side of bench/agents/node-agent.ts: start one on a lab host, send requests,
// await replies and events. Like test/mesh/agent.ts's MeshAgent, but events are not all kept:
// a throughput run produces far more than a test, so listeners see them as they arrive.
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { resolve } from 'node:path'
import { childEnv, REPO_ROOT, tsxArgs } from '../../test/lab/agents'
import type { Lab } from '../../test/lab/netns'

export const NODE_AGENT = resolve(__dirname, '..', 'agents', 'node-agent.ts')

export interface AgentEvent {
  ev: string
  t: number
  [field: string]: unknown
}

/** CLOCK_MONOTONIC in ms: the agents stamp events with the same clock (see node-agent.ts). */
export const clock = (): number => Number(process.hrtime.bigint()) / 1e6

type Listener = (e: AgentEvent) => void

export interface StartOptions {
  /** Extra node flags (e.g. --cpu-prof) before --import tsx. */
  nodeFlags?: string[]
  timeoutMs?: number
  /** Sees every event from the first line on (events before 'ready' included). */
  listen?: Listener
}

export class BenchAgent {
  private nextId = 1
  private readonly listeners = new Set<Listener>()
  private readonly stderr: string[] = []
  ready!: AgentEvent

  private constructor(readonly host: number, readonly nodeId: string, readonly child: ChildProcessWithoutNullStreams) {
    let partial = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) {
        if (!line.startsWith('{')) continue
        let e: AgentEvent
        try {
          e = JSON.parse(line) as AgentEvent
        } catch {
          continue
        }
        for (const l of [...this.listeners]) l(e)
      }
    })
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (d: string) => {
      this.stderr.push(d)
      if (this.stderr.length > 200) this.stderr.shift()
    })
  }

  static async start(lab: Lab, host: number, options: Record<string, unknown> & { nodeId: string }, start: StartOptions = {}): Promise<BenchAgent> {
    // scripts/bench.mjs bundles the agent (plain node, as on a board); tsx where run without it.
    const bundle = process.env.DSN_BENCH_AGENT_BUNDLE
    const args = [...(start.nodeFlags ?? []), ...(bundle ? [bundle, JSON.stringify(options)] : tsxArgs(NODE_AGENT, JSON.stringify(options)))]
    const child = lab.spawn(host, process.execPath, args, { cwd: REPO_ROOT, env: childEnv() })
    const agent = new BenchAgent(host, options.nodeId, child)
    if (start.listen) agent.on(start.listen)
    const ready = await agent.waitFor((e) => e.ev === 'ready' || e.ev === 'start-failed', start.timeoutMs ?? 60_000, 'ready')
    if (ready.ev === 'start-failed') throw new Error(`h${host} ${options.nodeId}: ${String(ready.message)}`)
    agent.ready = ready
    return agent
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** Calls fn for every future event until the returned function is called. */
  on(fn: Listener): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  /** The first future event that matches. */
  waitFor(test: (e: AgentEvent) => boolean, timeoutMs = 15_000, what = 'event'): Promise<AgentEvent> {
    return new Promise((resolveEvent, reject) => {
      const done = (err: Error | null, e?: AgentEvent) => {
        clearTimeout(timer)
        off()
        this.child.off('exit', onExit)
        if (err) reject(err)
        else resolveEvent(e as AgentEvent)
      }
      const off = this.on((e) => {
        if (test(e)) done(null, e)
      })
      const onExit = () => done(new Error(`h${this.host} ${this.nodeId} exited while waiting for ${what}\n${this.stderr.join('').slice(-2000)}`))
      const timer = setTimeout(() => done(new Error(`h${this.host} ${this.nodeId}: no ${what} within ${timeoutMs} ms`)), timeoutMs)
      this.child.once('exit', onExit)
    })
  }

  async request(req: Record<string, unknown>, timeoutMs = 30_000): Promise<AgentEvent> {
    const id = this.nextId++
    const reply = this.waitFor((e) => e.ev === 'reply' && e.id === id, timeoutMs, `reply to ${String(req.op)}`)
    this.child.stdin.write(JSON.stringify({ ...req, id }) + '\n')
    const r = await reply
    if (!r.ok) throw new Error(`h${this.host} ${this.nodeId} ${String(req.op)}: ${String(r.message)}`)
    return r
  }

  async stop(): Promise<void> {
    if (!this.alive) return
    const exit = new Promise((r) => this.child.once('exit', r))
    this.child.stdin.write(JSON.stringify({ op: 'stop', id: 0 }) + '\n')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000)
    await exit
    clearTimeout(timer)
  }

  /** kill -9; resolves once the process is gone. */
  kill(): Promise<void> {
    if (!this.alive) return Promise.resolve()
    const exit = new Promise<void>((r) => this.child.once('exit', () => r()))
    this.child.kill('SIGKILL')
    return exit
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Resolves once every agent has reported peer-up for every id in `ids` (itself excepted). */
export async function allUp(agents: BenchAgent[], ids: string[], timeoutMs = 30_000): Promise<void> {
  await Promise.all(
    agents.map(async (a) => {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const peers = (await a.request({ op: 'peers' })).peers as string[]
        if (ids.every((id) => peers.includes(id))) return
        if (Date.now() > deadline) throw new Error(`${a.nodeId} sees ${peers.join(',')}, not all of ${ids.join(',')}`)
        await sleep(100)
      }
    }),
  )
}
