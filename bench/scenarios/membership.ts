// 5. Membership (DSN). A new node (fresh id and identity, no bootstrap list, default
// discovery) starts on the spare host: time from the call of DSNode.start in its process
// until every running node has emitted peer-up for it (and until it has seen them all).
// A node is killed with SIGKILL: time from the kill until every other node has emitted
// peer-down for it; it is then restarted (new incarnation) for the next repetition. The kill
// comes at a random point of the heartbeat interval, as a crash does: repetitions paced by the
// previous one's peer-down (itself a whole number of intervals after a heartbeat on the grid)
// would otherwise all kill at one phase of it and measure one point of the range, not the range.
import { allUp, BenchAgent, clock, sleep, type AgentEvent } from '../lib/agent'
import type { System } from '../lib/system'
import { defaultConfig } from '../../src/config'

export interface JoinRun {
  /** DSNode.start called -> the last existing node's peer-up. */
  seenByAllMs: number
  /** Same, from when DSNode.start returned. */
  seenByAllFromReadyMs: number
  /** DSNode.start called -> the new node's last peer-up. */
  seesAllMs: number
}

export interface KillRun {
  downAtAllMs: number
  firstDownMs: number
  reasons: string[]
  /** Lag samples above healthy (local health) on the other nodes during the run, by source: what stretched their timeouts. */
  lagSamples: Record<string, number>
}

/** The nodes' heartbeat interval: the default, as the bench configures none. */
const HEARTBEAT_INTERVAL_MS = defaultConfig('bench').heartbeatIntervalMs

const LAG_COUNTERS = ['health.lag-loop', 'health.lag-receive', 'health.lag-timer', 'peers-kept.local-health']

async function countersOf(agents: BenchAgent[]): Promise<Record<string, number>> {
  const sum: Record<string, number> = {}
  for (const a of agents) {
    const status = (await a.request({ op: 'status' })).status as { counters?: Record<string, number> } | undefined
    for (const name of LAG_COUNTERS) sum[name] = (sum[name] ?? 0) + (status?.counters?.[name] ?? 0)
  }
  return sum
}

function collect(agents: BenchAgent[], test: (e: AgentEvent) => boolean, timeoutMs: number): Promise<number[]> {
  return Promise.all(agents.map((a) => a.waitFor(test, timeoutMs, 'membership event').then((e) => e.t)))
}

export async function joinRun(sys: System, rep: number): Promise<JoinRun> {
  const id = `new${rep}x${Date.now() % 100000}`
  const existing = sys.agents
  const seen = collect(existing, (e) => e.ev === 'peer-up' && e.nodeId === id, 30_000)
  seen.catch(() => undefined) // awaited below; a failed start must not leave it unhandled
  const pending = new Set(sys.ids)
  let seesAllAt = NaN
  const agent = await BenchAgent.start(sys.ctx.lab, sys.spareHost, sys.agentOptions(sys.spareHost, id), {
    timeoutMs: 120_000,
    listen: (e) => {
      if (e.ev === 'peer-up' && pending.delete(e.nodeId as string) && pending.size === 0) seesAllAt = e.t
    },
  })
  try {
    const times = await seen
    for (let i = 0; i < 100 && pending.size > 0; i++) await sleep(100)
    const tStart = agent.ready.tStart as number
    return { seenByAllMs: Math.max(...times) - tStart, seenByAllFromReadyMs: Math.max(...times) - agent.ready.t, seesAllMs: seesAllAt - tStart }
  } finally {
    const gone = collect(existing, (e) => e.ev === 'peer-down' && e.nodeId === id, 10_000).catch(() => [])
    await agent.stop()
    await gone
  }
}

export async function killRun(sys: System): Promise<KillRun> {
  const victimIndex = sys.agents.length - 1
  const victim = sys.agents[victimIndex]
  const others = sys.agents.filter((a) => a !== victim)
  const reasons: string[] = []
  const down = Promise.all(
    others.map((a) =>
      a.waitFor((e) => e.ev === 'peer-down' && e.nodeId === victim.nodeId, 30_000, 'peer-down').then((e) => {
        reasons.push(String(e.reason))
        return e.t
      }),
    ),
  )
  await sleep(Math.random() * HEARTBEAT_INTERVAL_MS)
  const before = await countersOf(others)
  const tKill = clock()
  await victim.kill()
  const times = await down
  const after = await countersOf(others)
  const lagSamples = Object.fromEntries(LAG_COUNTERS.map((n) => [n, after[n] - before[n]]))
  // Back for the next repetition: same id and identity, a new incarnation.
  const restarted = await BenchAgent.start(sys.ctx.lab, victim.host, sys.agentOptions(victim.host, victim.nodeId), { timeoutMs: 120_000 })
  sys.agents[victimIndex] = restarted
  await allUp(sys.agents, sys.ids, 30_000)
  await sleep(500)
  return { downAtAllMs: Math.max(...times) - tKill, firstDownMs: Math.min(...times) - tKill, reasons: [...new Set(reasons)], lagSamples }
}
