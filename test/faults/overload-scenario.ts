// An overload scenario on real sockets, shared by test/faults/overload.test.ts (short) and
// bench/overload.ts (long, several variants): N nodes in namespaces each write their own counter
// at a rate, nodes are killed -9 and restarted in a seeded pattern, then writes stop and we
// measure how long until every live node is exact. Not a test itself.
import { readFileSync } from 'node:fs'
import { createLab, type Lab } from '../lab/netns'
import { allSee, MeshAgent } from '../mesh/agent'
import { seededRandom } from '../sim/random'
import { sleep } from './checker'
import { removeCredentials } from './cluster'

export type KillPattern = 'none' | 'rolling' | 'burst' | 'mass'

export interface OverloadOptions {
  n: number
  /** Each node writes its counter every this many ms. */
  writeIntervalMs: number
  writeSeconds: number
  /** rolling: one random live node killed every killEveryMs, restarted deadMs later.
   * burst: a quarter of the live nodes at once every killEveryMs.
   * mass: every node killed within one second, halfway through, restarted deadMs later. */
  kill: KillPattern
  killEveryMs: number
  deadMs: number
  seed: number
  /** Give up on convergence after this long in the quiet phase. */
  settleTimeoutMs: number
  prefix: string
  /** Progress lines (bench). */
  log?: (line: string) => void
}

export interface TimelineRow {
  /** Seconds since writes started. */
  t: number
  cpuPercent: number
  nacks: number
  resends: number
  snapshots: number
  repairDeferred: number
  bytesSent: number
  kernelDrops: number
  timeoutDowns: number
  /** Datagrams read by every process: what the CPU pays for. */
  received: number
}

export interface OverloadResult {
  options: Omit<OverloadOptions, 'log'>
  kills: number
  /** ms from the last write until every live node was exact (NaN: never within settleTimeoutMs). */
  convergedMs: number
  problems: string[]
  /** Timeout peer-downs of an incarnation that was alive at the time. */
  falseDowns: number
  trueDowns: number
  /** Per killed incarnation: ms from the kill to the last survivor's peer-down for it. */
  detectionMs: number[]
  restartMs: number[]
  timeline: TimelineRow[]
  /** Counter totals over every incarnation that ran. */
  totals: Record<string, number>
  /** After a mass restart: repair bytes (resends + snapshots, estimated from bytes-sent in the window) per node. */
  massRestartBytesPerNode: number | null
}

const COUNTERS = ['nacks-sent', 'resends', 'snapshots-sent', 'repair-deferred', 'bytes-sent', 'kernel-drops', 'peers-down.timeout', 'peers-kept.local-health', 'snapshot-requests-sent', 'snapshot-requests-suppressed', 'repair-shed', 'datagrams-sent', 'heartbeats', 'nacks-suppressed', 'nacks-direct', 'resends-direct', 'datagrams-received', 'resend-copies', 'peers-revived', 'pings-sent', 'pings-direct', 'heartbeats-signed', 'heartbeats-direct', 'snapshots-suppressed']

interface Member {
  agent: MeshAgent
  host: number
  incarnation: number
  alive: boolean
  killedAt: number
  counters: Record<string, number>
}

function cpuTimes(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  const idle = f[3] + (f[4] ?? 0)
  const total = f.reduce((a, b) => a + b, 0)
  return { busy: total - idle, total }
}

export async function runOverload(options: OverloadOptions): Promise<OverloadResult> {
  const log = options.log ?? (() => undefined)
  const lab: Lab = await createLab({ hosts: options.n, prefix: options.prefix })
  const members: Member[] = []
  try {
    return await drive(lab, members, options, log)
  } finally {
    await Promise.all(members.filter((m) => m.alive).map((m) => m.agent.kill()))
    await lab.destroy()
    removeCredentials(lab.prefix)
  }
}

async function start(lab: Lab, host: number, writeIntervalMs: number | null): Promise<Member> {
  const agent = await MeshAgent.start(lab, host, { nodeId: `o${String(host).padStart(2, '0')}` }, 120_000)
  agent.child.setMaxListeners(500)
  await agent.request({ op: 'quiet' }, 60_000)
  const status = await agent.status()
  if (writeIntervalMs !== null) await agent.request({ op: 'autowrite', key: 'c', intervalMs: writeIntervalMs }, 60_000)
  return { agent, host, incarnation: status.incarnation as number, alive: true, killedAt: NaN, counters: {} }
}

async function drive(lab: Lab, members: Member[], o: OverloadOptions, log: (line: string) => void): Promise<OverloadResult> {
  const random = seededRandom(o.seed)
  // Start in waves: 20 tsx boots at once on 2 cores take longer than in waves of 5.
  for (let i = 0; i < o.n; i += 5) {
    members.push(...await Promise.all(lab.hosts.slice(i, i + 5).map((h) => start(lab, h.index, null))))
  }
  await allSee(members.map((m) => m.agent), members.map((m) => m.agent.nodeId), 180_000)
  log(`${o.n} nodes up and meshed`)
  await Promise.all(members.map((m) => m.agent.request({ op: 'autowrite', key: 'c', intervalMs: o.writeIntervalMs })))
  const t0 = Date.now()
  const timeline: TimelineRow[] = []
  let last = totals(members)
  let cpuLast = cpuTimes()
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      await sleep(1000)
      await Promise.all(members.filter((m) => m.alive).map(async (m) => {
        try {
          const c = (await m.agent.status()).counters
          for (const name of COUNTERS) m.counters[name] = c[name] ?? 0
        } catch {
          // Killed during the request: its last sample stands.
        }
      }))
      const now = totals(members)
      const cpu = cpuTimes()
      const d = (name: string) => (now[name] ?? 0) - (last[name] ?? 0)
      timeline.push({
        t: Math.round((Date.now() - t0) / 100) / 10,
        cpuPercent: Math.round((100 * (cpu.busy - cpuLast.busy)) / Math.max(1, cpu.total - cpuLast.total)),
        nacks: d('nacks-sent'), resends: d('resends'), snapshots: d('snapshots-sent'), repairDeferred: d('repair-deferred'),
        bytesSent: d('bytes-sent'), kernelDrops: d('kernel-drops'), timeoutDowns: d('peers-down.timeout'), received: d('datagrams-received'),
      })
      last = now
      cpuLast = cpu
    }
  })()

  const killed: Member[] = []
  const restarts: Array<Promise<void>> = []
  const restartMs: number[] = []
  const kill = async (m: Member): Promise<void> => {
    m.alive = false
    m.killedAt = Date.now()
    killed.push(m)
    await m.agent.kill()
    restarts.push((async () => {
      await sleep(o.deadMs)
      const began = Date.now()
      const fresh = await start(lab, m.host, o.writeIntervalMs)
      restartMs.push(Date.now() - began)
      members[members.indexOf(m)] = fresh
      members.push(m) // keep the dead incarnation's counters in the totals
    })())
  }
  let massWindow: { at: number; before: Record<string, number> } | null = null
  const end = t0 + o.writeSeconds * 1000
  if (o.kill === 'rolling' || o.kill === 'burst') {
    for (let at = t0 + o.killEveryMs; at + o.deadMs < end; at += o.killEveryMs) {
      await sleep(at - Date.now())
      const live = members.filter((m) => m.alive)
      const count = o.kill === 'burst' ? Math.max(1, Math.floor(live.length / 4)) : 1
      const victims = new Set<Member>()
      while (victims.size < count) victims.add(live[Math.floor(random.next() * live.length)])
      await Promise.all([...victims].map(kill))
    }
  } else if (o.kill === 'mass') {
    await sleep(o.writeSeconds * 500)
    const victims = members.filter((m) => m.alive)
    // Every node within the same second, in a seeded order (a power cut is not instantaneous).
    await Promise.all(victims.map(async (m) => {
      await sleep(random.next() * 1000)
      await kill(m)
    }))
  }
  await sleep(end - Date.now())
  await Promise.all(restarts)
  if (o.kill === 'mass') massWindow = { at: Date.now(), before: totals(members) }
  // Writes stop: take each live origin's last value.
  const live = members.filter((m) => m.alive)
  const expected = new Map<string, { value: number; seq: number; incarnation: number }>()
  await Promise.all(live.map(async (m) => {
    const r = await m.agent.request({ op: 'autowrite-stop' }, 60_000)
    const lastWrite = r.last as { value: number } | null
    const status = r.status as { seq: number; incarnation: number }
    expected.set(m.agent.nodeId, { value: lastWrite?.value ?? 0, seq: status.seq, incarnation: status.incarnation })
  }))
  const lastWriteAt = Date.now()
  log(`writes stopped after ${Math.round((lastWriteAt - t0) / 1000)} s, ${killed.length} kills`)
  let problems = await verify(live, expected)
  while (problems.length > 0 && Date.now() - lastWriteAt < o.settleTimeoutMs) {
    // 250 ms, as WriteChecker.settle: polling 20-30 agents' status faster loads the CPU it measures.
    await sleep(250)
    problems = await verify(live, expected)
  }
  const convergedMs = problems.length === 0 ? Date.now() - lastWriteAt : NaN
  log(`converged ${convergedMs} ms after the last write (${problems.length} problems)`)
  await sleep(1500)
  sampling = false
  await sampler
  const all = totals(members)
  let massRestartBytesPerNode: number | null = null
  if (massWindow) {
    // Everything sent since the restarts completed, over what steady writes and heartbeats cost:
    // an upper bound of the repair bytes per node.
    massRestartBytesPerNode = Math.round(((all['bytes-sent'] ?? 0) - (massWindow.before['bytes-sent'] ?? 0)) / o.n)
  }

  // False deaths: a timeout peer-down of an incarnation that was still running.
  const killedAt = new Map(killed.map((m) => [`${m.agent.nodeId}/${m.incarnation}`, m.killedAt]))
  let falseDowns = 0, trueDowns = 0
  const lastDown = new Map<string, number>()
  for (const m of members) {
    for (const e of m.agent.events) {
      if (e.ev !== 'peer-down' || e.reason !== 'timeout') continue
      const key = `${String(e.nodeId)}/${String(e.incarnation)}`
      const at = killedAt.get(key)
      // The agents' clock is performance.timeOrigin-based wall time, like Date.now().
      if (at !== undefined && e.t >= at - 50) {
        trueDowns++
        lastDown.set(key, Math.max(lastDown.get(key) ?? 0, e.t - at))
      } else falseDowns++
    }
  }
  return {
    options: { ...o, log: undefined } as Omit<OverloadOptions, 'log'>,
    kills: killed.length,
    convergedMs,
    problems: problems.slice(0, 10),
    falseDowns,
    trueDowns,
    detectionMs: [...lastDown.values()].map(Math.round),
    restartMs,
    timeline,
    totals: all,
    massRestartBytesPerNode,
  }
}

function totals(members: Member[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const m of members) for (const [k, v] of Object.entries(m.counters)) out[k] = (out[k] ?? 0) + v
  return out
}

/**
 * The strict check: every live node lists exactly the live set, holds each live origin's
 * current incarnation up to its last sequence number, and reads each origin's last value.
 */
async function verify(live: Member[], expected: Map<string, { value: number; seq: number; incarnation: number }>): Promise<string[]> {
  const problems: string[] = []
  const ids = new Set(live.map((m) => m.agent.nodeId))
  const statuses = await Promise.all(live.map((m) => m.agent.status()))
  // The origin's sequence now, not at its last write: a snapshot it sends later takes numbers too.
  const seqNow = new Map(live.map((m, i) => [m.agent.nodeId, statuses[i].seq as number]))
  for (const [i, m] of live.entries()) {
    const seen = new Set(statuses[i].peers.map((p) => String(p.nodeId)))
    for (const id of ids) if (id !== m.agent.nodeId && !seen.has(id)) problems.push(`${m.agent.nodeId} does not list ${id}`)
    for (const p of statuses[i].peers) {
      const want = expected.get(String(p.nodeId))
      if (!want) problems.push(`${m.agent.nodeId} lists ${String(p.nodeId)}, which is not alive`)
      else if (p.incarnation !== want.incarnation || p.contiguousSeq !== seqNow.get(String(p.nodeId))) problems.push(`${m.agent.nodeId} holds ${String(p.nodeId)} at ${String(p.incarnation)}/${String(p.contiguousSeq)}, want ${want.incarnation}/${seqNow.get(String(p.nodeId))}`)
    }
  }
  if (problems.length > 0) return problems
  // Sequence numbers agree: now the values themselves.
  await Promise.all(live.map(async (reader) => {
    for (const origin of live) {
      if (origin === reader) continue
      const got = (await reader.agent.request({ op: 'get', node: origin.agent.nodeId, key: 'c' })).value
      const want = expected.get(origin.agent.nodeId)?.value
      if (got !== want && !(want === 0 && got === undefined)) problems.push(`${reader.agent.nodeId} reads ${origin.agent.nodeId}.c = ${String(got)}, want ${want}`)
    }
  }))
  return problems
}
