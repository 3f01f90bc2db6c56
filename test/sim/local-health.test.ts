// The local health rule on the simulated LAN (fake clock, seeded): a node whose own process
// was starved does not declare its peers down, a slow peer keeps its replica, and a healthy
// node still finds a kill -9 within peerTimeoutMs.
import t from 'tap'
import { HEALTH } from '../../src/core/timers'
import { MessageType } from '../../src/wire/constants'
import { digestsAgree, filterReceive, mismatches, peek, runUntil, total } from '../core/sim-helpers'
import { SimNetwork, type SimNode } from './network'

function cluster(seed: number, n: number): { net: SimNetwork; nodes: SimNode[] } {
  const net = new SimNetwork(seed)
  const nodes = Array.from({ length: n }, (_, i) => net.add(`n${String(i).padStart(2, '0')}`))
  return { net, nodes }
}

for (const seed of [1, 2, 3]) {
  t.test(`seed ${seed}: a starved node blames no peer for its own stall; its peers keep its replica`, async (t) => {
    const { net, nodes } = cluster(seed, 8)
    t.ok(runUntil(net, 5000, () => digestsAgree(net)), 'meshed')
    for (const [i, n] of nodes.entries()) n.engine.set('v', i)
    t.ok(runUntil(net, 2000, () => digestsAgree(net)))
    net.runFor(5000)
    // Late in an interval: the peers' regular heartbeats (all on one grid) were heard 900 ms ago.
    net.run(Math.ceil(net.now / 1000) * 1000 + 900)
    const slow = nodes[0]
    const snapshotsBefore = total(nodes, 'snapshots-sent')
    const eventsBefore = slow.events.length
    // 1.9 s without a turn of its event loop: after 0.9 s of silence before it, every peer looks
    // silent for longer than peerTimeoutMs when it wakes.
    net.stall(slow, 1900)
    net.runFor(1900)
    for (const [i, n] of nodes.entries()) n.engine.set('v', 100 + i)
    t.ok(runUntil(net, 5000, () => digestsAgree(net)), `converged again at ${Math.round(net.now)} ms`)
    const downs = slow.events.slice(eventsBefore).filter((e) => e.type === 'peer-down')
    t.same(downs, [], 'the starved node declared nobody down')
    t.ok(slow.engine.counters.get('peers-kept.local-health') > 0, `it kept peers its plain timeout would have dropped (${slow.engine.counters.get('peers-kept.local-health')})`)
    // The healthy peers did see it silent past the timeout: down, then back with its replica.
    const revived = total(nodes.slice(1), 'peers-revived')
    const others = nodes.slice(1).filter((n) => n.eventsOf('peer-down').some((e) => e.event.nodeId === slow.nodeId))
    t.equal(revived, others.length, `every peer that timed it out revived its replica (${revived} of ${nodes.length - 1} timed it out)`)
    t.equal(total(nodes, 'snapshots-sent') - snapshotsBefore, 0, 'no snapshot: the kept replicas needed only the gap')
    t.same(mismatches(net), [])
  })
}

t.test('a healthy node declares a kill -9 down after exactly peerTimeoutMs of silence', async (t) => {
  const { net, nodes } = cluster(11, 6)
  t.ok(runUntil(net, 5000, () => digestsAgree(net)))
  const [victim, ...rest] = nodes
  net.kill(victim)
  const lastHeard = new Map(rest.map((n) => [n.nodeId, n.engine.peers.get(victim.nodeId)?.lastHeardAt ?? NaN]))
  t.ok(runUntil(net, 5000, () => rest.every((n) => !n.engine.peers.get(victim.nodeId)?.replica), 1), 'all declared it down')
  for (const n of rest) {
    const down = n.eventsOf('peer-down').find((e) => e.event.nodeId === victim.nodeId)
    t.equal(down?.event.reason, 'timeout')
    t.equal(n.engine.counters.get('peers-kept.local-health'), 0, `${n.nodeId}: no stretch on a healthy node`)
  }
  const silence = Math.max(...rest.map((n) => net.now - (lastHeard.get(n.nodeId) ?? 0)))
  t.ok(silence <= n0(nodes).config.peerTimeoutMs + 2, `declared within ${silence.toFixed(1)} ms of the last datagram heard`)
})

t.test('a node that reports loop lag stretches its timeout, bounded, and the stretch decays', async (t) => {
  const { net, nodes } = cluster(12, 4)
  t.ok(runUntil(net, 5000, () => digestsAgree(net)))
  const [lagging, victim] = nodes
  const timeout = lagging.config.peerTimeoutMs
  // The shell measured 1.3 s of event-loop delay: the timeout grows by 2 x 1250 ms, shrinking as
  // the lag it remembers halves every lagHalfLifeMs.
  lagging.engine.noteHealth({ loopLagMs: 1300, kernelDrops: 0, receiveBacklogMs: 0 }, net.now)
  const killedAt = net.now
  net.kill(victim)
  const others = nodes.filter((n) => n !== lagging && n !== victim)
  t.ok(runUntil(net, 3000, () => others.every((n) => !n.engine.peers.get(victim.nodeId)?.replica), 1), 'healthy nodes found it within the plain timeout')
  t.ok(lagging.engine.peers.get(victim.nodeId)?.replica, 'the lagging node still holds it (stretched)')
  t.ok(runUntil(net, (1 + HEALTH.maxExtraTimeouts) * timeout, () => !lagging.engine.peers.get(victim.nodeId)?.replica, 5), 'the lagging node declares it down too, within the bound')
  const took = net.now - killedAt
  t.ok(took > timeout && took <= (1 + HEALTH.maxExtraTimeouts) * timeout, `stretched to ${Math.round(took)} ms (at most ${1 + HEALTH.maxExtraTimeouts} x ${timeout} ms; the stretch decays while waiting)`)
})

function n0(nodes: SimNode[]): SimNode {
  return nodes[0]
}

t.test('a lagging node waits its lag out before NACKing a gap; a healthy one does not', async (t) => {
  const { net, nodes } = cluster(13, 3)
  t.ok(runUntil(net, 5000, () => digestsAgree(net)))
  const [origin, a, b] = nodes
  // The first transmission of `target` is lost at `loser` only.
  let target = -1
  let loser: SimNode = a
  const firstPacket = new Map<number, number>()
  for (const n of [a, b]) {
    filterReceive(n, (bytes) => {
      const f = peek(bytes)
      if (f?.type !== MessageType.Data || f.origin !== origin.nodeId || f.seq !== target) return false
      if (!firstPacket.has(f.seq)) firstPacket.set(f.seq, f.packet)
      return n === loser && firstPacket.get(f.seq) === f.packet
    })
  }
  const episode = (who: SimNode): number => {
    loser = who
    const before = who.engine.counters.get('nacks-sent')
    target = origin.engine.stream.seq + 1
    origin.engine.set('lost', net.now)
    net.runFor(1)
    origin.engine.set('reveals-the-gap', net.now)
    const at = net.now
    return runUntil(net, 3000, () => who.engine.counters.get('nacks-sent') > before, 1) ? net.now - at : NaN
  }
  const healthy = episode(a)
  t.ok(healthy <= 25, `a healthy node NACKs after ${healthy.toFixed(1)} ms`)
  t.ok(runUntil(net, 3000, () => mismatches(net).length === 0))
  b.engine.noteHealth({ loopLagMs: 600, kernelDrops: 0, receiveBacklogMs: 0 }, net.now)
  const lagging = episode(b)
  // Its lag, at most maxNackLagWaitMs; the lag remembered decays a little (half-life 2 s) in the ms the episode takes.
  const wait = 0.98 * Math.min(600, HEALTH.maxNackLagWaitMs)
  t.ok(lagging >= wait, `a node that reported 600 ms of lag NACKs after ${lagging.toFixed(1)} ms (its lag, at most ${HEALTH.maxNackLagWaitMs} ms)`)
  t.ok(runUntil(net, 3000, () => mismatches(net).length === 0), 'and is repaired')
})
