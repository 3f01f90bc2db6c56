// Fault suite, real sockets: five node processes on five lab hosts write steadily while every
// host loses 30% of its UDP datagrams in each direction; afterwards every node holds exactly
// each origin's last written value.
import t from 'tap'
import { createLab, type Lab } from '../lab/netns'
import { WriteChecker, sleep } from './checker'
import { counterTotals, dropTotals, membership, removeCredentials, startCluster, SteadyWriters } from './cluster'

const HOSTS = 5
const LOSS = 30
const WRITE_MS = 6000

t.test(`${LOSS}% loss on every host under steady writes`, async (t) => {
  const lab: Lab = await createLab({ hosts: HOSTS, prefix: 'dsnf1' })
  t.teardown(async () => {
    await lab.destroy()
    removeCredentials(lab.prefix)
  })
  const checker = new WriteChecker()
  const agents = await startCluster(lab, lab.hosts.map((h) => h.index), checker)
  t.pass(`${HOSTS} nodes up and seeing each other`)

  for (const h of lab.hosts) await lab.setLoss(h.index, LOSS)
  t.comment(`injected: ${LOSS}% loss each way on every host's link (about ${Math.round(100 * (1 - (1 - LOSS / 100) ** 2))}% host to host)`)
  const writers = new SteadyWriters(checker, 1, { intervalMs: 80, keys: 12, deleteShare: 0.2 })
  for (const a of agents) writers.start(a)
  await sleep(WRITE_MS)
  await writers.stopAll()
  const { problems, ms } = await checker.settle(agents, 20_000)
  t.same(problems, [], `every node holds each origin's last written value (${ms} ms after the last write, loss still on)`)
  t.comment(`verified: ${checker.summary()}`)
  const totals = await counterTotals(agents, ['datagrams-sent', 'nacks-sent', 'nacks-suppressed', 'resends', 'snapshots-sent', 'digest-mismatches'])
  t.comment(`repair: ${JSON.stringify(totals)}`)
  t.comment(`drops: ${JSON.stringify(await dropTotals(agents))}`)
  const flaps = agents.flatMap((a) => agents.filter((b) => b !== a).flatMap((b) => membership(a, b.nodeId).filter((e) => e.ev === 'peer-down').map((e) => `${a.nodeId} lost ${b.nodeId} (${e.reason})`)))
  t.comment(`false peer-downs under loss: ${flaps.length}${flaps.length ? ': ' + flaps.join(', ') : ''}`)
  t.equal(writers.failures, 0, 'no write request failed')
  for (const h of lab.hosts) await lab.setLoss(h.index, 0)
  await Promise.all(agents.map((a) => a.stop()))
})
