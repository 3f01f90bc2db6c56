// Starts fixtures/mesh-agent.ts processes on lab hosts and talks to them: requests with
// replies, and awaitable events. Shared by the integration tests and the benchmarks.
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { resolve } from 'node:path'
import { childEnv, REPO_ROOT, tsxArgs } from '../lab/agents'
import { LineLog } from '../lab/lines'
import type { Lab } from '../lab/netns'

export const MESH_AGENT = resolve(__dirname, 'fixtures', 'mesh-agent.ts')
export const LAB_KEY = '5eed'.repeat(16)

export interface AgentEvent {
  ev: string
  t: number
  [field: string]: unknown
}

export class MeshAgent {
  private nextId = 1
  readonly events: AgentEvent[] = []
  private readonly waiters = new Set<{ test: (e: AgentEvent) => boolean; resolve: (e: AgentEvent) => void }>()
  nodeId = ''
  publicKey = ''

  constructor(readonly host: number, readonly child: ChildProcessWithoutNullStreams, readonly out: LineLog, readonly err: LineLog) {}

  static async start(lab: Lab, host: number, options: Record<string, unknown>, timeoutMs = 20_000): Promise<MeshAgent> {
    const full = { networkKey: LAB_KEY, credentialDir: `/tmp/${lab.prefix}-cred-h${host}-${String(options.nodeId ?? host)}`, ...options }
    const child = lab.spawn(host, process.execPath, tsxArgs(MESH_AGENT, JSON.stringify(full)), { cwd: REPO_ROOT, env: childEnv() })
    const agent = new MeshAgent(host, child, new LineLog(child.stdout, `mesh h${host}`), new LineLog(child.stderr, `mesh h${host} stderr`))
    child.stdout.on('data', () => undefined)
    // EPIPE when a request was written just as the child was killed: the request fails on exit.
    child.stdin.on('error', () => undefined)
    agent.out.waitFor(() => false, 24 * 3600_000).catch(() => undefined)
    agent.listen()
    const ready = await agent.waitFor((e) => e.ev === 'ready' || e.ev === 'start-failed', timeoutMs).catch((err: Error) => {
      throw new Error(`${err.message}\nstderr:\n${agent.err.lines.join('\n')}`)
    })
    if (ready.ev === 'start-failed') throw Object.assign(new Error(String(ready.message)), { code: ready.code })
    agent.nodeId = String(ready.nodeId)
    agent.publicKey = String(ready.publicKey)
    return agent
  }

  private listen(): void {
    let seen = 0
    const poll = () => {
      while (seen < this.out.lines.length) {
        const line = this.out.lines[seen++]
        let event: AgentEvent
        try {
          event = JSON.parse(line) as AgentEvent
        } catch {
          continue
        }
        this.events.push(event)
        for (const w of this.waiters) {
          if (w.test(event)) {
            this.waiters.delete(w)
            w.resolve(event)
          }
        }
      }
    }
    this.child.stdout.on('data', () => setImmediate(poll))
  }

  /** Resolves with the first event (already seen or future) that matches. */
  waitFor(test: (e: AgentEvent) => boolean, timeoutMs = 15_000, what = 'event'): Promise<AgentEvent> {
    const found = this.events.find(test)
    if (found) return Promise.resolve(found)
    return new Promise((resolveEvent, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter)
        reject(new Error(`h${this.host} ${this.nodeId}: no ${what} within ${timeoutMs} ms`))
      }, timeoutMs)
      const waiter = { test, resolve: (e: AgentEvent) => { clearTimeout(timer); resolveEvent(e) } }
      this.waiters.add(waiter)
      this.child.once('exit', () => {
        if (this.waiters.delete(waiter)) {
          clearTimeout(timer)
          reject(new Error(`h${this.host} ${this.nodeId} exited while waiting for ${what}\nstderr:\n${this.err.lines.join('\n')}`))
        }
      })
    })
  }

  /** Waits until this node holds `value` for `node`.`key` (undefined: the key is absent). */
  async waitValue(node: string, key: string, value: unknown, timeoutMs = 15_000): Promise<void> {
    const want = JSON.stringify(value)
    const matches = (e: AgentEvent) => e.ev === 'update' && e.nodeId === node && e.key === key && JSON.stringify(e.value) === want
    const current = await this.request({ op: 'get', node, key })
    if (JSON.stringify(current.value) === want) return
    // Only updates after the reply count: they may already be recorded when we get here.
    const from = this.events.indexOf(current) + 1
    await this.waitFor((e) => this.events.indexOf(e) >= from && matches(e), timeoutMs, `${node}.${key} = ${want}`)
  }

  async request(req: Record<string, unknown>, timeoutMs = 15_000): Promise<AgentEvent> {
    // A request racing a kill -9 must fail here, not as an EPIPE on the dead child's stdin.
    if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`h${this.host} ${this.nodeId} has exited`)
    const id = this.nextId++
    this.child.stdin.write(JSON.stringify({ ...req, id }) + '\n')
    const reply = await this.waitFor((e) => e.ev === 'reply' && e.id === id, timeoutMs, `reply to ${String(req.op)}`)
    if (!reply.ok) throw Object.assign(new Error(`${String(req.op)}: ${String(reply.message)}`), { code: reply.code })
    return reply
  }

  async peers(): Promise<string[]> {
    return (await this.request({ op: 'peers' })).peers as string[]
  }

  async status(): Promise<Record<string, unknown> & { counters: Record<string, number>; peers: Array<Record<string, unknown>> }> {
    return (await this.request({ op: 'status' })).status as never
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return
    const exit = new Promise((r) => this.child.once('exit', r))
    this.child.stdin.write(JSON.stringify({ op: 'stop', id: 0 }) + '\n')
    await exit
  }

  kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve()
    const exit = new Promise<void>((r) => this.child.once('exit', () => r()))
    this.child.kill('SIGKILL')
    return exit
  }
}

/** Waits until every agent lists exactly `ids` as live peers (self included). */
export async function allSee(agents: MeshAgent[], ids: string[], timeoutMs = 15_000): Promise<void> {
  const want = [...ids].sort()
  await Promise.all(agents.map(async (a) => {
    const missing = () => want.filter((id) => id !== a.nodeId && !hasPeer(a, id))
    if (missing().length === 0) return
    await a.waitFor(() => missing().length === 0, timeoutMs, `peers ${want.join(',')}`)
  }))
}

/** Live peer set as told by the agent's event stream (peer-up minus later peer-down). */
export function hasPeer(agent: MeshAgent, nodeId: string): boolean {
  let up = false
  for (const e of agent.events) {
    if (e.nodeId !== nodeId) continue
    if (e.ev === 'peer-up') up = true
    else if (e.ev === 'peer-down') up = false
  }
  return up
}
