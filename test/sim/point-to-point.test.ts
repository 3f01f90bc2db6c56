// Group or point to point (src/core/point-to-point.ts), on the simulated LAN (fake clock,
// seeded): a healthy receiver NACKs the group and the resend goes to the group; a receiver whose
// own process lags or overflowed NACKs the origin alone and gets its resend alone; a lagging
// node probes a quiet peer alone and gets its answer alone. Nobody else reads any of it.
import t from 'tap'
import { MessageType } from '../../src/wire/constants'
import { digestsAgree, filterReceive, mismatches, peek, runUntil } from '../core/sim-helpers'
import { SimNetwork, type SimNode } from './network'

function cluster(seed: number, n: number): { net: SimNetwork; nodes: SimNode[] } {
  const net = new SimNetwork(seed)
  const nodes = Array.from({ length: n }, (_, i) => net.add(`n${String(i).padStart(2, '0')}`))
  return { net, nodes }
}

/** Who read which frame types after `since`, keyed by "type to": a capture of the simulated wire. */
function capture(net: SimNetwork): Array<{ type: MessageType; origin: string; to: string; seq?: number }> {
  const seen: Array<{ type: MessageType; origin: string; to: string; seq?: number }> = []
  net.onDeliver = ({ to, bytes }) => {
    const f = peek(bytes)
    if (f) seen.push({ type: f.type, origin: f.origin, to, seq: f.type === MessageType.Data ? f.seq : undefined })
  }
  return seen
}

/** Loses the first transmission of `origin`'s next sequence number at `loser` only, then reveals the gap. */
function loseNext(net: SimNetwork, origin: SimNode, loser: SimNode): number {
  const target = origin.engine.stream.seq + 1
  let dropped = false
  filterReceive(loser, (bytes) => {
    const f = peek(bytes)
    if (dropped || f?.type !== MessageType.Data || f.origin !== origin.nodeId || f.seq !== target) return false
    dropped = true
    return true
  })
  origin.engine.set('lost', net.now)
  net.runFor(1)
  origin.engine.set('reveals-the-gap', net.now)
  return target
}

for (const seed of [1, 2]) {
  t.test(`seed ${seed}: a healthy receiver repairs through the group; a starved one point to point`, async (t) => {
    const { net, nodes } = cluster(seed, 6)
    t.ok(runUntil(net, 5000, () => digestsAgree(net)), 'meshed')
    const [origin, healthy, starved] = nodes
    let seen = capture(net)
    let target = loseNext(net, origin, healthy)
    t.ok(runUntil(net, 3000, () => mismatches(net).length === 0), 'the healthy receiver is repaired')
    t.equal(healthy.engine.counters.get('nacks-direct'), 0, 'its NACK went to the group')
    const groupNack = seen.filter((s) => s.type === MessageType.Nack && s.origin === healthy.nodeId)
    t.equal(groupNack.length, nodes.length - 1, 'every other node read it (suppression)')
    t.ok(seen.filter((s) => s.type === MessageType.Data && s.seq === target).length >= nodes.length - 1, 'the resend went to the group')

    // The kernel dropped datagrams for the starved node's socket: its losses are its own.
    starved.engine.noteHealth({ loopLagMs: 0, receiveBacklogMs: 0, kernelDrops: 40 }, net.now)
    net.onDeliver = undefined
    seen = capture(net)
    target = loseNext(net, origin, starved)
    t.ok(runUntil(net, 3000, () => mismatches(net).length === 0), 'the starved receiver is repaired')
    t.ok(starved.engine.counters.get('nacks-direct') > 0, 'its NACK went to the origin alone')
    const nackReaders = seen.filter((s) => s.type === MessageType.Nack && s.origin === starved.nodeId).map((s) => s.to)
    t.same([...new Set(nackReaders)], [origin.address], 'only the origin read it')
    t.ok(origin.engine.counters.get('resends-direct') > 0, 'the origin resent it point to point')
    const copies = seen.filter((s) => s.type === MessageType.Data && s.seq === target).map((s) => s.to)
    // The first transmission reached everyone (the starved node lost it in its own receive path);
    // the resend reached the starved node alone.
    t.equal(copies.filter((to) => to === starved.address).length, 2, 'the starved node got the first transmission and the resend')
    t.equal(copies.length, nodes.length - 1 + 1, 'nobody else got the resend')
  })
}

t.test('a lagging node probes a quiet peer alone, and the answer comes to it alone', async (t) => {
  const { net, nodes } = cluster(5, 5)
  t.ok(runUntil(net, 5000, () => digestsAgree(net)), 'meshed')
  net.runFor(3000)
  const [lagging, quiet] = nodes
  // The lagging node stops hearing the quiet one's heartbeats (its queue overflowed).
  let deaf = true
  filterReceive(lagging, (bytes) => deaf && peek(bytes)?.origin === quiet.nodeId && peek(bytes)?.type === MessageType.Heartbeat)
  const seen = capture(net)
  lagging.engine.noteHealth({ loopLagMs: 400, receiveBacklogMs: 0, kernelDrops: 0 }, net.now)
  t.ok(runUntil(net, 5000, () => lagging.engine.counters.get('pings-direct') > 0 && quiet.engine.counters.get('heartbeats-direct') > 0, 5), 'probed point to point and answered')
  deaf = false
  const pingReaders = seen.filter((s) => s.type === MessageType.Ping && s.origin === lagging.nodeId).map((s) => s.to)
  t.same([...new Set(pingReaders)], [quiet.address], 'only the quiet peer read the PINGs')
  t.ok(lagging.engine.peers.get(quiet.nodeId)?.replica, 'the lagging node kept the peer it heard late')
  t.same(lagging.eventsOf('peer-down'), [], 'and declared nobody down')
  t.equal(nodes.slice(2).reduce((s, n) => s + n.engine.counters.get('peers-down.timeout'), 0), 0, 'nor did anyone else')
})
