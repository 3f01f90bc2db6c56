// Idle heartbeats on the simulated network: nodes whose clocks agree send their regular
// heartbeats together, so each receiver is woken by one burst an interval instead of one
// datagram per peer (a process wake-up costs more than reading the datagram); a cluster above
// heartbeatGroupMax splits into slots; clocks that disagree only lose the grouping.
import t from 'tap'
import { TIMERS } from '../../src/core/timers'
import { MessageType } from '../../src/wire/constants'
import { SimNetwork, type SimNode } from '../sim/network'
import { peek } from './sim-helpers'

const INTERVAL = 1000
/** Deliveries further apart than this start a new burst (a receiver woken again). */
const BURST_GAP_MS = 5

/** Heartbeats delivered to `reader` over `ms` of an idle cluster: their times grouped into bursts, and per origin. */
function watchHeartbeats(net: SimNetwork, reader: SimNode, ms: number): { bursts: number[][]; perOrigin: Map<string, number> } {
  const times: number[] = []
  const perOrigin = new Map<string, number>()
  net.onDeliver = (d) => {
    if (d.to !== reader.address) return
    const frame = peek(d.bytes)
    if (frame?.type !== MessageType.Heartbeat) return
    times.push(net.now)
    perOrigin.set(frame.origin, (perOrigin.get(frame.origin) ?? 0) + 1)
  }
  net.runFor(ms)
  net.onDeliver = undefined
  const bursts: number[][] = []
  for (const at of times) {
    const last = bursts.at(-1)
    if (last && at - (last.at(-1) as number) <= BURST_GAP_MS) last.push(at)
    else bursts.push([at])
  }
  return { bursts, perOrigin }
}

function cluster(n: number, seed: number): SimNetwork {
  const net = new SimNetwork(seed)
  for (let i = 0; i < n; i++) net.add(`n${String(i).padStart(2, '0')}`)
  // Every node up everywhere, and past the signed introductions.
  net.runFor(5 * INTERVAL)
  return net
}

t.test('10 nodes with agreeing clocks: one burst of heartbeats an interval, each peer in it', async (t) => {
  const net = cluster(10, 1)
  const reader = net.nodes[0]
  const { bursts, perOrigin } = watchHeartbeats(net, reader, 10 * INTERVAL)
  t.ok(bursts.length >= 10 && bursts.length <= 11, `${bursts.length} bursts in 10 intervals (one per peer and interval would be 90)`)
  t.equal(perOrigin.size, 9, 'every peer heard')
  for (const [origin, count] of perOrigin) t.ok(count >= 10 && count <= 11, `${origin}: ${count} heartbeats in 10 intervals`)
  t.equal(reader.engine.counters.get('pings-sent'), 0, 'no peer ever quiet long enough to probe')
})

t.test('above heartbeatGroupMax nodes the cluster spreads over slots, each burst at most the group', async (t) => {
  const n = TIMERS.heartbeatGroupMax + 8
  const net = cluster(n, 2)
  const reader = net.nodes[0]
  const { bursts, perOrigin } = watchHeartbeats(net, reader, 10 * INTERVAL)
  t.equal(perOrigin.size, n - 1, 'every peer heard')
  t.ok(bursts.length >= 19 && bursts.length <= 22, `${bursts.length} bursts in 10 intervals: two slots`)
  const largest = Math.max(...bursts.map((b) => b.length))
  t.ok(largest < n - 1, `the largest burst holds ${largest} of ${n - 1} peers' heartbeats`)
})

t.test('clocks that disagree: no grouping, but every peer still heard every interval and none probed', async (t) => {
  const net = new SimNetwork(3)
  for (let i = 0; i < 10; i++) {
    const node = net.add(`n${i}`)
    // Offsets as unsynchronised boards would have: whole seconds plus any fraction.
    node.wallClockOffsetMs = Math.floor(((i * 7919) % 10_007) * 123.457)
  }
  net.runFor(5 * INTERVAL)
  const reader = net.nodes[0]
  const { bursts, perOrigin } = watchHeartbeats(net, reader, 10 * INTERVAL)
  t.equal(perOrigin.size, 9, 'every peer heard')
  for (const [origin, count] of perOrigin) t.ok(count >= 10 && count <= 11, `${origin}: ${count} heartbeats in 10 intervals`)
  t.ok(bursts.length > 30, `${bursts.length} separate arrivals: the grouping needs agreeing clocks`)
  for (const node of net.nodes) t.equal(node.engine.counters.get('pings-sent'), 0, `${node.nodeId} never probed a peer`)
  t.equal(reader.engine.livePeers().length, 9)
})
