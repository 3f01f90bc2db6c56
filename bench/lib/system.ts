// One system under test on a lab: N node processes of one kind (DSN, floor relay, or MQTT
// clients with a Mosquitto broker on the extra host), started alike and stopped alike.
import { mkdirSync } from 'node:fs'
import type { Lab } from '../../test/lab/netns'
import { LAB_KEY } from '../../test/mesh/agent'
import { Broker } from '../mqtt/broker'
import { allUp, BenchAgent, sleep } from './agent'

export type Impl = 'dsn' | 'floor' | 'mqtt'

export interface SystemSpec {
  impl: Impl
  /** MQTT only: the QoS of every publish and subscription. */
  qos?: 0 | 1
  /** MQTT only: the broker's port (one broker per system, all on the spare host). */
  port?: number
  /** MQTT only: mosquitto.conf `set_tcp_nodelay true` (default false: Nagle on the broker's sockets). */
  brokerNoDelay?: boolean
  /** Floor only: seal and MAC every datagram as DSN does (the "secure floor"). */
  secure?: boolean
}

export const FLOOR_GROUP = '239.255.74.75'
export const FLOOR_PORT = 47475

export function systemLabel(spec: SystemSpec): string {
  if (spec.impl === 'dsn') return 'DSN'
  if (spec.impl === 'floor') return spec.secure ? 'secure floor' : 'floor'
  return `Mosquitto QoS ${spec.qos ?? 1}${spec.brokerNoDelay ? ' nodelay' : ''}`
}

export interface SystemContext {
  lab: Lab
  /** Hosts 0..n-1 run nodes; host n is spare (broker, or a joining node). */
  n: number
  /** Fresh directory for credentials and configs of this bench run. */
  workDir: string
  nodeFlags?: string[]
}

export class System {
  broker: Broker | null = null
  agents: BenchAgent[] = []

  constructor(readonly spec: SystemSpec, readonly ctx: SystemContext) {}

  get label(): string {
    return systemLabel(this.spec)
  }

  get ids(): string[] {
    return Array.from({ length: this.ctx.n }, (_, i) => `n${i}`)
  }

  get spareHost(): number {
    return this.ctx.n
  }

  /** Options of the agent for nodeId on host; used for extra (joining) nodes too. */
  agentOptions(host: number, nodeId: string): Record<string, unknown> & { nodeId: string } {
    const { lab, workDir } = this.ctx
    switch (this.spec.impl) {
      case 'dsn':
        return { impl: 'dsn', nodeId, print: 'none', dsn: { networkKey: LAB_KEY, credentialDir: `${workDir}/cred-${nodeId}` } }
      case 'floor':
        return {
          impl: 'floor', nodeId, print: 'none',
          floor: { group: FLOOR_GROUP, port: FLOOR_PORT + (this.spec.secure ? 1 : 0), interfaceAddress: lab.hosts[host].address, secure: this.spec.secure ? { networkKey: LAB_KEY, peers: this.ids } : undefined },
        }
      case 'mqtt':
        return {
          impl: 'mqtt', nodeId, print: 'none',
          mqtt: { host: lab.hosts[this.spareHost].address, port: this.spec.port ?? 1883, qos: this.spec.qos ?? 1, peers: this.ids },
        }
    }
  }

  async start(): Promise<void> {
    mkdirSync(this.ctx.workDir, { recursive: true })
    if (this.spec.impl === 'mqtt') this.broker = await Broker.start(this.ctx.lab, this.spareHost, this.ctx.workDir, this.spec.port, this.spec.brokerNoDelay ? ['set_tcp_nodelay true'] : [])
    const flags = this.ctx.nodeFlags
    // A few at a time: 20 tsx start-ups at once on 2 busy cores can take a minute.
    for (let i = 0; i < this.ctx.n; i += 5) {
      const batch = this.ids.slice(i, i + 5)
      this.agents.push(...(await Promise.all(batch.map((id, j) => BenchAgent.start(this.ctx.lab, i + j, this.agentOptions(i + j, id), { nodeFlags: flags, timeoutMs: 120_000 })))))
    }
    if (this.spec.impl === 'dsn') await allUp(this.agents, this.ids, 60_000)
    await sleep(1000)
  }

  async stop(): Promise<void> {
    await Promise.all(this.agents.map((a) => a.stop().catch(() => a.kill())))
    this.agents = []
    await this.broker?.stop()
    this.broker = null
  }

  async print(print: 'all' | 'none' | { prefix: string }): Promise<void> {
    await Promise.all(this.agents.map((a) => a.request({ op: 'print', print })))
  }

  /** Throws unless every other node holds exactly the writer's keys under prefix. */
  async checkExact(writer: BenchAgent, prefix: string): Promise<{ exact: boolean; keys: number; wrong: string[] }> {
    const want = JSON.stringify(sortKeys((await writer.request({ op: 'state', node: writer.nodeId, prefix })).state as Record<string, unknown>))
    const wrong: string[] = []
    await Promise.all(this.agents.filter((a) => a !== writer).map(async (a) => {
      const got = JSON.stringify(sortKeys((await a.request({ op: 'state', node: writer.nodeId, prefix })).state as Record<string, unknown>))
      if (got !== want) wrong.push(a.nodeId)
    }))
    return { exact: wrong.length === 0, keys: Object.keys(JSON.parse(want) as object).length, wrong }
  }
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}
