// Fault suite, real sockets: the bridge is cut into two halves for several seconds under
// steady writes, then healed; every node ends up with each origin's last written value.
import t from 'tap'
import { createLab, type Lab } from '../lab/netns'
import { WriteChecker, sleep } from './checker'
import { counterTotals, membership, PEER_TIMEOUT_MS, removeCredentials, startCluster, SteadyWriters } from './cluster'

const HOSTS = 5
const PARTITION_MS = 5000

t.test('a partition into two halves for several seconds, then heal', async (t) => {
  const lab: Lab = await createLab({ hosts: HOSTS, prefix: 'dsnf3' })
  t.teardown(async () => {
    await lab.destroy()
    removeCredentials(lab.prefix)
  })
  const checker = new WriteChecker()
  const agents = await startCluster(lab, lab.hosts.map((h) => h.index), checker)
  const writers = new SteadyWriters(checker, 3, { intervalMs: 80, keys: 12, deleteShare: 0.2 })
  for (const a of agents) writers.start(a)
  await sleep(1000)

  const left = [0, 1], right = [2, 3, 4]
  const cutAt = Date.now()
  await lab.partition(left, right)
  t.comment(`injected: partition {${left.map((i) => `h${i}`).join(',')}} | {${right.map((i) => `h${i}`).join(',')}} for ${PARTITION_MS} ms (unicast and multicast)`)
  await sleep(PARTITION_MS)
  // Each half must have let the other half go, and still agree within itself.
  const views = await Promise.all(agents.map((a) => a.peers()))
  const expectedView = (i: number) => (left.includes(i) ? left : right).map((j) => `node${j}`).sort()
  t.same(views.map((v) => [...v].sort()), agents.map((_, i) => expectedView(i)), 'during the partition each node lists exactly its own half')
  const downTimes = agents.flatMap((a, i) =>
    agents.filter((_, j) => left.includes(i) !== left.includes(j)).map((b) => (membership(a, b.nodeId).find((e) => e.ev === 'peer-down')?.t ?? Infinity) - cutAt),
  )
  t.ok(Math.max(...downTimes) <= PEER_TIMEOUT_MS + 1000, `the other half was declared down ${Math.round(Math.min(...downTimes))}-${Math.round(Math.max(...downTimes))} ms after the cut`)
  // Pause the writes so each half can be compared at a quiet moment, then go on.
  await writers.stopAll()
  const sides = await Promise.all([
    checker.settle(left.map((i) => agents[i]), 5000),
    checker.settle(right.map((i) => agents[i]), 5000),
  ])
  t.same(sides.map((s) => s.problems), [[], []], 'each half is consistent within itself while cut off')
  for (const a of agents) writers.start(a)
  await sleep(500)

  await lab.heal()
  const healedAt = Date.now()
  t.comment('injected: heal')
  await sleep(1500)
  await writers.stopAll()
  const { problems, ms } = await checker.settle(agents, 15_000)
  t.same(problems, [], `after the heal every node holds each origin's last written value (settled ${ms} ms after the last write)`)
  const upAgain = agents.flatMap((a, i) =>
    agents.filter((_, j) => left.includes(i) !== left.includes(j)).map((b) => (membership(a, b.nodeId).filter((e) => e.ev === 'peer-up').pop()?.t ?? Infinity) - healedAt),
  )
  t.comment(`the halves saw each other again ${Math.round(Math.min(...upAgain))}-${Math.round(Math.max(...upAgain))} ms after the heal`)
  t.comment(`verified: ${checker.summary()}`)
  t.comment(`repair: ${JSON.stringify(await counterTotals(agents, ['nacks-sent', 'resends', 'snapshots-sent', 'digest-mismatches', 'peers-down.timeout']))}`)
  await Promise.all(agents.map((a) => a.stop()))
})
