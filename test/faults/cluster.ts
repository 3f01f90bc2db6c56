// Node processes for the fault suite: start them on lab hosts, keep every one writing at a
// steady pace through the checker, kill and restart them. Not a test itself.
import { readdirSync, rmSync } from 'node:fs'
import type { Lab } from '../lab/netns'
import { allSee, MeshAgent } from '../mesh/agent'
import { seededRandom } from '../sim/random'
import type { RandomSource } from '../../src/core/types'
import { sleep, type WriteChecker } from './checker'

export const PEER_TIMEOUT_MS = 2000

export async function startNode(lab: Lab, host: number, checker: WriteChecker, options: Record<string, unknown> = {}): Promise<MeshAgent> {
  const agent = await MeshAgent.start(lab, host, { nodeId: `node${host}`, ...options }, 30_000)
  agent.child.setMaxListeners(200)
  const status = await agent.status()
  checker.started(agent.nodeId, status.incarnation as number)
  return agent
}

export async function startCluster(lab: Lab, hosts: number[], checker: WriteChecker): Promise<MeshAgent[]> {
  const agents = await Promise.all(hosts.map((h) => startNode(lab, h, checker)))
  await allSee(agents, agents.map((a) => a.nodeId), 20_000)
  return agents
}

/** Credential dirs MeshAgent made for this lab. */
export function removeCredentials(prefix: string): void {
  for (const name of readdirSync('/tmp')) if (name.startsWith(`${prefix}-cred-`)) rmSync(`/tmp/${name}`, { recursive: true, force: true })
}

export interface WriterOptions {
  intervalMs: number
  /** Keys are k0..k{keys-1}, so later writes overwrite and deletes hit earlier ones. */
  keys: number
  deleteShare: number
  /** Every n-th write of an agent is a value of bigBytes (fragmented over several datagrams). */
  bigEvery?: number
  bigBytes?: number
}

/** Every agent writes (or deletes) a random key every intervalMs, each write recorded. */
export class SteadyWriters {
  private readonly loops = new Map<MeshAgent, Promise<void>>()
  private readonly running = new Set<MeshAgent>()
  private readonly random: RandomSource
  private counter = 0
  failures = 0

  constructor(private readonly checker: WriteChecker, seed: number, private readonly options: WriterOptions = { intervalMs: 100, keys: 12, deleteShare: 0.2 }) {
    this.random = seededRandom(seed)
  }

  start(agent: MeshAgent): void {
    if (this.running.has(agent)) return
    this.running.add(agent)
    this.loops.set(agent, this.loop(agent))
  }

  /** Stops one agent's writes and waits for its last write to be recorded. */
  async stop(agent: MeshAgent): Promise<void> {
    this.running.delete(agent)
    await this.loops.get(agent)
    this.loops.delete(agent)
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.loops.keys()].map((a) => this.stop(a)))
  }

  private async loop(agent: MeshAgent): Promise<void> {
    // Spread the writers' phases so they do not all write in the same millisecond.
    await sleep(this.random.next() * this.options.intervalMs)
    let written = 0
    while (this.running.has(agent)) {
      const key = `k${Math.floor(this.random.next() * this.options.keys)}`
      const remove = this.random.next() < this.options.deleteShare
      const n = ++this.counter
      const big = this.options.bigEvery !== undefined && ++written % this.options.bigEvery === 0
      const value = remove ? undefined : big ? { n, by: agent.nodeId, pad: `${n}:`.padEnd(this.options.bigBytes ?? 6000, 'p') } : { n, by: agent.nodeId, t: Math.round(this.random.next() * 1e6) / 1e3 }
      try {
        if (remove) await agent.request({ op: 'del', key })
        else await agent.request({ op: 'set', key, value })
        const status = await agent.status()
        this.checker.record({ origin: agent.nodeId, incarnation: status.incarnation as number, seq: status.seq as number, key, value, at: Date.now() })
      } catch {
        // The agent was killed mid-request: what it wrote died with its incarnation.
        if (agent.child.exitCode === null && agent.child.signalCode === null) this.failures++
        return
      }
      await sleep(this.options.intervalMs)
    }
  }
}

/** Peer-up/down events of `agent` about `nodeId`, in order. */
export function membership(agent: MeshAgent, nodeId: string): Array<{ ev: string; t: number; incarnation: number; reason?: string }> {
  return agent.events
    .filter((e) => (e.ev === 'peer-up' || e.ev === 'peer-down') && e.nodeId === nodeId)
    .map((e) => ({ ev: e.ev, t: e.t, incarnation: e.incarnation as number, reason: e.reason as string | undefined }))
}

/** Sum of some counters over agents' statuses. */
export async function counterTotals(agents: MeshAgent[], names: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]))
  for (const a of agents) {
    const c = (await a.status()).counters
    for (const n of names) out[n] += c[n] ?? 0
  }
  return out
}

export async function dropTotals(agents: MeshAgent[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const a of agents) {
    for (const [name, v] of Object.entries((await a.status()).counters)) if (name.startsWith('dropped.')) out[name] = (out[name] ?? 0) + v
  }
  return out
}
