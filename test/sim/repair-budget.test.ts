// Repair that cannot snowball, on the simulated LAN (fake clock, seeded): a restart costs O(N)
// snapshots, a mass restart converges without a storm, unanswered NACKs back off, an origin's
// repair stays within its budget, and snapshot requests are suppressed across receivers.
import t from 'tap'
import { REPAIR } from '../../src/core/timers'
import { MessageType } from '../../src/wire/constants'
import { digestsAgree, filterReceive, mismatches, peek, runUntil, total } from '../core/sim-helpers'
import { SimNetwork, type SimNode } from './network'

function cluster(seed: number, n: number, loss = 0): { net: SimNetwork; nodes: SimNode[] } {
  const net = new SimNetwork(seed, { loss })
  const nodes = Array.from({ length: n }, (_, i) => net.add(`n${String(i).padStart(2, '0')}`))
  return { net, nodes }
}

/** Every node writes its counter every `everyMs` for `ms`. */
function writeFor(net: SimNetwork, nodes: SimNode[], ms: number, everyMs: number): void {
  for (let t = 0; t < ms; t += everyMs) {
    for (const n of nodes) if (n.alive) n.engine.set('c', Math.round(net.now))
    net.runFor(everyMs)
  }
}

for (const [seed, n] of [[1, 10], [2, 20], [3, 30]] as const) {
  t.test(`seed ${seed}, N = ${n}: a restarted node costs O(N) repair`, async (t) => {
    const { net, nodes } = cluster(seed, n)
    t.ok(runUntil(net, 5000, () => digestsAgree(net)))
    writeFor(net, nodes, 3000, 50)
    t.ok(runUntil(net, 3000, () => digestsAgree(net)))
    const [victim] = nodes
    net.kill(victim)
    net.runFor(500)
    const before = { snapshots: total(nodes, 'snapshots-sent'), nacks: total(nodes, 'nacks-sent') + total(nodes, 'snapshot-requests-sent') }
    net.restart(victim)
    t.ok(runUntil(net, 5000, () => digestsAgree(net)), `converged ${Math.round(net.now)} ms`)
    const snapshots = total(nodes, 'snapshots-sent') - before.snapshots
    const nacks = total(nodes, 'nacks-sent') + total(nodes, 'snapshot-requests-sent') - before.nacks
    // One snapshot per origin brings the new node up; nobody else needs anything.
    t.ok(snapshots <= n - 1, `${snapshots} snapshots for ${n - 1} origins`)
    t.ok(nacks <= 2 * (n - 1), `${nacks} NACKs`)
    t.same(mismatches(net), [])
  })
}

for (const seed of [4, 5]) {
  t.test(`seed ${seed}: 20 nodes restarting within the same second converge without a storm`, async (t) => {
    const N = 20
    const { net, nodes } = cluster(seed, N, 0.02)
    t.ok(runUntil(net, 5000, () => digestsAgree(net)))
    writeFor(net, nodes, 2000, 100)
    for (const node of nodes) net.kill(node)
    net.runFor(3000)
    // A power cut: every node back within one second, in a seeded order, and writing at once.
    const bytesBefore = total(nodes, 'bytes-sent')
    const snapshotsBefore = total(nodes, 'snapshots-sent')
    const order = [...nodes].sort(() => 0) // the array order; the delays below are what varies
    for (const node of order) {
      net.restart(node)
      node.engine.set('c', 0)
      node.engine.set('boot', node.nodeId)
      net.runFor(1000 / N)
    }
    const restartedAt = net.now
    t.ok(runUntil(net, 10_000, () => digestsAgree(net)), `converged ${Math.round(net.now - restartedAt)} ms after the last restart`)
    writeFor(net, nodes, 1000, 100)
    t.ok(runUntil(net, 5000, () => digestsAgree(net)))
    t.same(mismatches(net), [])
    const snapshots = total(nodes, 'snapshots-sent') - snapshotsBefore
    const perNode = Math.round((total(nodes, 'bytes-sent') - bytesBefore) / N)
    t.ok(snapshots <= 3 * N, `${snapshots} snapshots for ${N} origins`)
    // A timeout of an incarnation that is running is a false death.
    const running = new Map(nodes.map((n) => [n.nodeId, n.engine.incarnation]))
    const falseDowns = nodes.flatMap((n) => n.eventsOf('peer-down').filter((e) => e.event.reason === 'timeout' && e.event.incarnation === running.get(e.event.nodeId)))
    t.same(falseDowns.map((e) => e.event.nodeId), [], 'no running node was declared down')
    t.comment(`mass restart: ${perNode} bytes sent per node from the first restart until converged and 1 s of writes after (snapshots ${snapshots}, resends ${total(nodes, 'resends')})`)
  })
}

t.test('a receiver whose repairs never arrive backs off instead of NACKing 25 times a second', async (t) => {
  const { net, nodes } = cluster(6, 3)
  t.ok(runUntil(net, 5000, () => digestsAgree(net)))
  const [origin, deaf] = nodes
  // Every copy of one sequence number is lost at `deaf` (first send and every resend).
  let target = -1
  filterReceive(deaf, (bytes) => {
    const f = peek(bytes)
    return f?.type === MessageType.Data && f.origin === origin.nodeId && f.seq === target
  })
  target = origin.engine.stream.seq + 1
  origin.engine.set('lost', 1)
  net.runFor(50)
  origin.engine.set('after', 2)
  const before = deaf.engine.counters.get('nacks-sent')
  net.runFor(10_000)
  const nacks = deaf.engine.counters.get('nacks-sent') - before
  // Without back-off: one every ~50 ms = ~200. With it: 40, 80, ... up to one per nackBackoffMaxMs.
  t.ok(nacks <= 10_000 / REPAIR.nackBackoffMaxMs + 8, `${nacks} NACKs in 10 s`)
  t.ok(nacks >= 10_000 / REPAIR.nackBackoffMaxMs / 2, 'but it keeps asking')
})

t.test("an origin flooded with NACKs repairs within its budget", async (t) => {
  const { net, nodes } = cluster(7, 12)
  t.ok(runUntil(net, 5000, () => digestsAgree(net)))
  const [origin, ...receivers] = nodes
  // Every receiver loses every first transmission of the origin's writes: all of it is repair.
  const firstPacket = new Map<number, number>()
  let floodEnd = Infinity
  for (const r of receivers) {
    filterReceive(r, (bytes) => {
      const f = peek(bytes)
      if (f?.type !== MessageType.Data || f.origin !== origin.nodeId || f.seq > floodEnd) return false
      if (!firstPacket.has(f.seq)) firstPacket.set(f.seq, f.packet)
      return firstPacket.get(f.seq) === f.packet
    })
  }
  // 2,000 datagrams in one second, one key each (one datagram per write turn), values large
  // enough that resends are cheaper than a snapshot of the whole state.
  for (let i = 0; i < 2000; i++) {
    origin.engine.set(`k${i}`, `${i}`.padEnd(300, '.'))
    net.runFor(0.5)
  }
  floodEnd = origin.engine.stream.seq
  const repairSent = () => origin.engine.counters.get('datagrams-sent') - origin.engine.counters.get('heartbeats') - origin.engine.counters.get('heartbeats-signed') - origin.engine.counters.get('pings-sent')
  const sentBefore = repairSent()
  const windowS = 10
  net.runFor(windowS * 1000)
  const repaired = repairSent() - sentBefore
  t.ok(runUntil(net, 30_000, () => digestsAgree(net)), `converged at ${Math.round(net.now)} ms`)
  // A second's burst and the debt a snapshot may leave, on top of the rate.
  const bound = REPAIR.originDatagramsPerSec * (windowS + 1 + REPAIR.maxDebtSeconds)
  t.ok(repaired <= bound, `${repaired} repair datagrams in ${windowS} s (bound ${bound})`)
  t.ok(origin.engine.counters.get('repair-deferred') > 0, `deferred ${origin.engine.counters.get('repair-deferred')} repairs`)
  t.same(mismatches(net), [])
})

t.test('snapshot requests are suppressed across receivers like NACKs', async (t) => {
  const { net, nodes } = cluster(8, 20)
  t.ok(runUntil(net, 5000, () => digestsAgree(net)))
  const [origin, ...receivers] = nodes
  origin.engine.set('x', 1)
  t.ok(runUntil(net, 2000, () => digestsAgree(net)))
  // Every receiver's replica silently diverges (a corrupted digest byte): the next heartbeat
  // shows it to all of them at once.
  for (const r of receivers) {
    const replica = r.engine.peers.get(origin.nodeId)?.replica
    if (replica) replica.digest[0] ^= 0xff
  }
  net.runFor(1200)
  const requests = total(receivers, 'snapshot-requests-sent')
  const suppressed = total(receivers, 'snapshot-requests-suppressed')
  t.ok(requests >= 1 && requests <= 3, `${requests} snapshot requests from ${receivers.length} receivers (${suppressed} suppressed)`)
  t.ok(origin.engine.counters.get('snapshots-sent') <= 1, 'one snapshot')
})
