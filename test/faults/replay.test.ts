// Fault suite, real sockets: duplicated and reordered datagrams. A relay on a sixth host
// re-sends every datagram it hears after a random delay, often twice, while node0 is cut off
// from everyone but the relay, so its whole stream (and every NACK and repair to it) arrives
// reordered and duplicated. Then a capture of all that traffic, from a now-dead incarnation
// too, is replayed into the group, shuffled and doubled: nothing changes anywhere.
import t from 'tap'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { resolve } from 'node:path'
import { childEnv, REPO_ROOT, tsxArgs } from '../lab/agents'
import { LineLog } from '../lab/lines'
import { createLab, type Lab } from '../lab/netns'
import { allSee, type MeshAgent } from '../mesh/agent'
import { WriteChecker, sleep } from './checker'
import { dropTotals, removeCredentials, startCluster, startNode, SteadyWriters } from './cluster'

const NODES = 5
const RELAY_HOST = 5
const RELAY = resolve(__dirname, 'fixtures', 'relay.ts')

class Relay {
  constructor(readonly child: ChildProcessWithoutNullStreams, readonly out: LineLog) {}

  static async start(lab: Lab, host: number): Promise<Relay> {
    const child = lab.spawn(host, process.execPath, tsxArgs(RELAY, lab.hosts[host].address), { cwd: REPO_ROOT, env: childEnv() })
    const relay = new Relay(child, new LineLog(child.stdout, `relay h${host}`))
    const err = new LineLog(child.stderr, `relay h${host} stderr`)
    await relay.out.waitFor(/^ready /, 30_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${err.lines.join('\n')}`)
    })
    return relay
  }

  async command(line: string, reply: string, timeoutMs = 30_000): Promise<string> {
    const from = this.out.lines.length
    this.child.stdin.write(`${line}\n`)
    return this.out.waitFor((l) => this.out.lines.indexOf(l, from) >= from && (l.startsWith(reply) || l.startsWith('error')), timeoutMs)
  }

  async stats(): Promise<Record<string, number>> {
    return JSON.parse((await this.command('stats', 'stats ')).slice(6)) as Record<string, number>
  }
}

const eventCount = (agents: MeshAgent[], ev: string) => agents.reduce((n, a) => n + a.events.filter((e) => e.ev === ev).length, 0)

t.test('duplicated and reordered datagrams, then a replayed capture', async (t) => {
  const lab: Lab = await createLab({ hosts: NODES + 1, prefix: 'dsnf4' })
  t.teardown(async () => {
    await lab.destroy()
    removeCredentials(lab.prefix)
  })
  const checker = new WriteChecker()
  const [agents, relay] = await Promise.all([startCluster(lab, [0, 1, 2, 3, 4], checker), Relay.start(lab, RELAY_HOST)])

  // Phase 1: node0 is reachable only through the relay, which delays each datagram by up to
  // 30 ms (so they overtake one another) and sends half of them twice.
  await relay.command('capture on', 'capture on')
  await relay.command('relay 30 0.5 7', 'relay on')
  await lab.partition([0], [1, 2, 3, 4])
  t.comment('injected: h0 cut off from h1-h4; the relay on h5 re-sends every datagram after 0-30 ms, 50% of them twice')
  const writers = new SteadyWriters(checker, 4, { intervalMs: 80, keys: 12, deleteShare: 0.2, bigEvery: 5, bigBytes: 6000 })
  for (const a of agents) writers.start(a)
  await sleep(5000)
  await writers.stopAll()
  const relayed = await checker.settle(agents, 15_000)
  t.same(relayed.problems, [], `through the reordering relay every node holds each origin's last written value (settled ${relayed.ms} ms after the last write)`)
  const s1 = await relay.stats()
  t.ok(s1.duplicated > 100 && s1.relayed > s1.heard, `relay heard ${s1.heard} datagrams, sent ${s1.relayed} (${s1.duplicated} twice), each 0-30 ms late`)
  t.comment(`verified: ${checker.summary()} (every 5th write a 6 KB value in fragments)`)
  t.comment(`drops after phase 1: ${JSON.stringify(await dropTotals(agents))}`)

  await relay.command('relay off', 'relay off')
  const captureSize = Number((await relay.command('capture off', 'capture off')).split(' ')[2])
  await lab.heal()

  // Phase 2: node2 dies and comes back, so the capture holds a dead incarnation too.
  await agents[2].kill()
  agents[2] = await startNode(lab, 2, checker)
  await allSee(agents, agents.map((a) => a.nodeId), 20_000)
  const before = await checker.settle(agents, 15_000)
  t.same(before.problems, [], 'node2 restarted; all consistent before the replay')

  const updates = eventCount(agents, 'update'), ups = eventCount(agents, 'peer-up'), downs = eventCount(agents, 'peer-down')
  const ownCount = async () => (await Promise.all(agents.map(async (a) => (await a.status()).counters['own-datagrams'] ?? 0))).reduce((x, y) => x + y, 0)
  const dropsBefore = await dropTotals(agents)
  const ownBefore = await ownCount()
  const replayed = Number((await relay.command('replay 2 9', 'replayed ')).split(' ')[1])
  t.comment(`injected: ${replayed} datagrams (the ${captureSize} captured, twice each, shuffled) replayed into the group`)
  await sleep(1500)
  const dropsAfter = await dropTotals(agents)
  const ownDelta = (await ownCount()) - ownBefore
  const delta: Record<string, number> = {}
  for (const [k, v] of Object.entries(dropsAfter)) if (v - (dropsBefore[k] ?? 0) > 0) delta[k] = v - (dropsBefore[k] ?? 0)
  const dropped = Object.values(delta).reduce((a, b) => a + b, 0)
  t.comment(`drops caused by the replay: ${JSON.stringify(delta)}`)
  t.equal(eventCount(agents, 'update'), updates, 'the replay caused no update event anywhere')
  t.equal(eventCount(agents, 'peer-up') + eventCount(agents, 'peer-down'), ups + downs, 'nor any peer-up or peer-down')
  t.ok((delta['dropped.old-incarnation'] ?? 0) > 0, "node2's dead incarnation was refused as old-incarnation")
  t.ok((delta['dropped.replay'] ?? 0) > 0, 'the rest as replays')
  // Each node hears each replayed datagram and refuses it: a drop by reason, or its own
  // datagram coming back (counted as own-datagrams). A few may overflow a socket buffer.
  const heard = dropped + ownDelta
  t.ok(heard >= 0.8 * replayed * NODES, `${heard} of ${replayed * NODES} replayed copies (${replayed} to ${NODES} nodes) refused and counted: ${dropped} drops + ${ownDelta} own`)
  const after = await checker.verify(agents)
  t.same(after, [], 'every node still holds exactly each origin\'s last written value')
  await Promise.all(agents.map((a) => a.stop()))
})
