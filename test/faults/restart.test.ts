// Fault suite, real sockets: kill -9 and restart of random nodes under steady writes. A
// restarted node's old state is replaced by its new incarnation everywhere, and nobody keeps
// a dead node past the peer timeout.
import t from 'tap'
import { createLab, type Lab } from '../lab/netns'
import { seededRandom } from '../sim/random'
import { HEALTH } from '../../src/core/timers'
import { sleep, WriteChecker } from './checker'
import { dropTotals, membership, PEER_TIMEOUT_MS, removeCredentials, startCluster, startNode, SteadyWriters } from './cluster'

const HOSTS = 5
/** Scheduling slack on a shared 2-core machine, on top of the protocol's own timeout. */
const SLACK_MS = 600
/** The most local health may stretch the timeout to (docs/PROTOCOL.md section 11.1). */
const STRETCHED_TIMEOUT_MS = PEER_TIMEOUT_MS * (1 + HEALTH.maxExtraTimeouts)

t.test('kill -9 and restart of random nodes under steady writes', async (t) => {
  const lab: Lab = await createLab({ hosts: HOSTS, prefix: 'dsnf2' })
  t.teardown(async () => {
    await lab.destroy()
    removeCredentials(lab.prefix)
  })
  const checker = new WriteChecker()
  const agents = await startCluster(lab, lab.hosts.map((h) => h.index), checker)
  const writers = new SteadyWriters(checker, 2, { intervalMs: 80, keys: 12, deleteShare: 0.2 })
  for (const a of agents) writers.start(a)
  await sleep(1500)

  const random = seededRandom(2024)
  // Round 0 and 2 restart at once (peers may see the new incarnation before timing the old one
  // out); round 1 stays dead until every survivor declared it down first.
  const rounds = [{ leftDead: false }, { leftDead: true }, { leftDead: false }]
  const history: Array<{ victim: string; old: number; fresh: number; killedAt: number; upAt: number }> = []
  for (const [r, round] of rounds.entries()) {
    const index = Math.floor(random.next() * agents.length)
    const victim = agents[index]
    const old = checker.incarnationOf(victim.nodeId) as number
    const survivors = agents.filter((a) => a !== victim)
    // Local health (docs/PROTOCOL.md 11.1): a survivor whose own loop lagged may stretch its
    // timeout, up to 5 x; one that did not must declare the kill within the plain timeout.
    const keptBefore = round.leftDead ? await Promise.all(survivors.map(async (s) => (await s.status()).counters['peers-kept.local-health'] ?? 0)) : []
    const killedAt = Date.now()
    await victim.kill()
    await writers.stop(victim)
    if (round.leftDead) {
      const isDown = (e: { ev: string; nodeId?: unknown; incarnation?: unknown }) => e.ev === 'peer-down' && e.nodeId === victim.nodeId && e.incarnation === old
      await Promise.all(survivors.map((s) => s.waitFor(isDown, STRETCHED_TIMEOUT_MS + SLACK_MS, `peer-down of ${victim.nodeId}`).catch(() => undefined)))
      const keptAfter = await Promise.all(survivors.map(async (s) => (await s.status()).counters['peers-kept.local-health'] ?? 0))
      const late: string[] = []
      for (const [i, s] of survivors.entries()) {
        const stretched = keptAfter[i] > keptBefore[i]
        const bound = (stretched ? STRETCHED_TIMEOUT_MS : PEER_TIMEOUT_MS) + SLACK_MS
        const down = membership(s, victim.nodeId).find((e) => e.ev === 'peer-down' && e.incarnation === old)
        if (!down) late.push(`${s.nodeId}: still lists it`)
        else if (down.t - killedAt > bound) late.push(`${s.nodeId}: after ${Math.round(down.t - killedAt)} ms (bound ${bound}${stretched ? ', stretched by its own lag' : ''})`)
        else if (down.reason !== 'timeout') late.push(`${s.nodeId}: reason ${down.reason}`)
      }
      const times = survivors.map((s, i) => `${Math.round((membership(s, victim.nodeId).find((e) => e.ev === 'peer-down' && e.incarnation === old)?.t ?? NaN) - killedAt)}${keptAfter[i] > keptBefore[i] ? ' (stretched)' : ''}`)
      t.same(late, [], `round ${r}: ${victim.nodeId} killed and left dead; every survivor declared it down (timeout) within ${PEER_TIMEOUT_MS} + ${SLACK_MS} ms, or ${STRETCHED_TIMEOUT_MS} + ${SLACK_MS} ms when its own loop lagged: ${times.join(', ')} ms`)
      const lists = await Promise.all(survivors.map((s) => s.peers()))
      t.ok(lists.every((l) => !l.includes(victim.nodeId)), `round ${r}: no survivor's peers() lists the dead node`)
    }
    const fresh = await startNode(lab, victim.host, checker)
    agents[index] = fresh
    writers.start(fresh)
    const incarnation = checker.incarnationOf(fresh.nodeId) as number
    t.ok(incarnation > old, `round ${r}: ${victim.nodeId} killed -9, restarted ${Date.now() - killedAt} ms later as incarnation ${incarnation} (was ${old})`)
    history.push({ victim: victim.nodeId, old, fresh: incarnation, killedAt, upAt: Date.now() })
    await sleep(1500)
  }
  await sleep(1000)
  await writers.stopAll()
  const { problems, ms } = await checker.settle(agents, 15_000)
  t.same(problems, [], `every live node holds exactly each origin's last written value of its current incarnation (settled ${ms} ms after the last write)`)
  t.comment(`verified: ${checker.summary()}`)

  for (const h of history) {
    const seen: string[] = []
    for (const a of agents.filter((x) => x.nodeId !== h.victim)) {
      const evs = membership(a, h.victim)
      const downOld = evs.findIndex((e) => e.ev === 'peer-down' && e.incarnation === h.old)
      const upNew = evs.findIndex((e) => e.ev === 'peer-up' && e.incarnation === h.fresh)
      const staleUp = evs.findIndex((e, i) => i > downOld && e.ev === 'peer-up' && e.incarnation === h.old)
      // A survivor started after the kill never knew the old incarnation.
      const knewOld = evs.some((e) => e.incarnation === h.old)
      if (knewOld && downOld < 0) seen.push(`${a.nodeId}: no peer-down for incarnation ${h.old}`)
      else if (upNew < 0) seen.push(`${a.nodeId}: no peer-up for incarnation ${h.fresh}`)
      else if (knewOld && upNew < downOld) seen.push(`${a.nodeId}: new incarnation up before the old one went down`)
      else if (staleUp >= 0) seen.push(`${a.nodeId}: the old incarnation came back`)
      else seen.push(`${a.nodeId}: ${knewOld ? evs[downOld].reason : 'never knew it'} -> up`)
    }
    const bad = seen.filter((s) => !/(restart|timeout|never knew it) -> up$/.test(s))
    t.same(bad, [], `${h.victim} ${h.old} -> ${h.fresh}: old incarnation dropped and new one up everywhere (${seen.join('; ')})`)
  }
  t.comment(`drops: ${JSON.stringify(await dropTotals(agents))}`)
  t.equal(writers.failures, 0, 'no write to a live node failed')
  await Promise.all(agents.map((a) => a.stop()))
})
