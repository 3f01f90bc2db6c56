// Membership's timers: the earliest deadline is a lower bound kept without scanning peers on
// every datagram (only hearing the peer that held it rescans, up to 64 peers); a due timer scans once and finds the true earliest; timeouts still fire on time.
import t from 'tap'
import { defaultConfig, type DsnConfig } from '../../src/config'
import { Counters } from '../../src/core/counters'
import { Membership } from '../../src/core/membership'
import type { Peer } from '../../src/core/peer'
import { TIMERS } from '../../src/core/timers'
import type { EngineEvent } from '../../src/core/types'

function setup(peerCount: number) {
  const config = { ...defaultConfig('self'), networkKey: '00'.repeat(32) } as DsnConfig
  const events: EngineEvent[] = []
  const probes: string[] = []
  const membership = new Membership(config, new Counters(), { next: () => 0, bytes: (n) => new Uint8Array(n) }, {
    emit: (e) => events.push(e),
    peerUp: () => {},
    peerDown: () => {},
    probe: (peer) => probes.push(peer.nodeId),
    nackDue: () => {},
  })
  const peers: Peer[] = []
  for (let i = 0; i < peerCount; i++) {
    const peer = membership.admit(`p${i}`, new Uint8Array(32).fill(i), () => true, `10.0.0.${i}:1`, 0) as Peer
    membership.up(peer, 1, peer.address, 0)
    membership.heard(peer, peer.address, 'multicast', 0)
    peers.push(peer)
  }
  return { config, membership, peers, events, probes }
}

t.test('the deadline is the first quiet-peer probe, and hearing a peer never makes it later than the truth', async (t) => {
  const { config, membership, peers } = setup(20)
  const quiet = config.heartbeatIntervalMs * TIMERS.probeAfterIntervals
  t.equal(membership.nextDeadline(), quiet, 'every peer heard at 0: the first timer is the quiet probe')
  for (const p of peers) membership.heard(p, p.address, 'multicast', 500)
  t.ok(membership.nextDeadline() <= 500 + quiet, 'still a lower bound after every peer was heard again')
  membership.tick(quiet)
  t.equal(membership.nextDeadline(), 500 + quiet, 'one due tick finds the true earliest again')
})

t.test('hearing the peer that held the earliest deadline moves it to the true earliest: no wake-up for nothing', async (t) => {
  const { config, membership, peers } = setup(3)
  const quiet = config.heartbeatIntervalMs * TIMERS.probeAfterIntervals
  membership.heard(peers[0], peers[0].address, 'multicast', 100)
  membership.heard(peers[1], peers[1].address, 'multicast', 200)
  t.equal(membership.nextDeadline(), quiet, 'p2, not heard since 0, still holds it')
  membership.heard(peers[2], peers[2].address, 'multicast', 300)
  t.equal(membership.nextDeadline(), 100 + quiet, 'the next true deadline (p0), not the stale one at ' + quiet)
})

t.test('above 64 peers hearing does not rescan: the deadline stays a lower bound', async (t) => {
  const { config, membership, peers } = setup(65)
  const quiet = config.heartbeatIntervalMs * TIMERS.probeAfterIntervals
  for (const p of peers) membership.heard(p, p.address, 'multicast', 100)
  t.equal(membership.nextDeadline(), quiet, 'stale but early: the due tick will find the truth')
  membership.tick(quiet)
  t.equal(membership.nextDeadline(), 100 + quiet)
})

t.test('a NACK scheduled for one replica lowers the deadline at once', async (t) => {
  const { membership, peers } = setup(5)
  const replica = peers[3].replica
  if (!replica) throw new Error('no replica')
  membership.scheduleNack(replica, 7)
  t.equal(membership.nextDeadline(), 7)
})

t.test('a silent peer is probed, then declared down at exactly lastHeardAt + peerTimeoutMs', async (t) => {
  const { config, membership, peers, events, probes } = setup(3)
  for (const p of peers.slice(1)) membership.heard(p, p.address, 'multicast', config.peerTimeoutMs - 1)
  let now = 0
  // Drive it like the shell: tick at each deadline.
  while (membership.nextDeadline() < config.peerTimeoutMs) {
    now = Math.max(now, membership.nextDeadline())
    membership.tick(now)
  }
  t.ok(probes.includes('p0'), 'the silent peer was probed first')
  t.equal(membership.nextDeadline(), config.peerTimeoutMs, 'the next timer is its timeout')
  membership.tick(config.peerTimeoutMs - 0.001)
  t.equal(events.filter((e) => e.type === 'peer-down').length, 0, 'not down a moment before')
  membership.tick(config.peerTimeoutMs)
  t.same(events.filter((e) => e.type === 'peer-down').map((e) => (e.type === 'peer-down' ? e.event.nodeId : '')), ['p0'])
  t.equal(membership.liveCount, 2)
})

t.test('a probe timer at lastPingedAt + interval fires, even where floating point makes now - last < interval', async (t) => {
  const { membership, peers, probes } = setup(1)
  const [peer] = peers
  // Figures from a simulated N = 250 run that spun forever at one instant before the fix.
  const last = 16341.27632203419
  const now = last + TIMERS.probeIntervalMs
  t.ok(now - last < TIMERS.probeIntervalMs, 'the float trap is set: now - last < interval')
  membership.heard(peer, peer.address, 'multicast', 15090.934306880647)
  peer.lastPingedAt = last
  peer.probeAt = now
  membership.scheduleNack(peer.replica as NonNullable<Peer['replica']>, now)
  ;(peer.replica as NonNullable<Peer['replica']>).nackAt = null
  membership.tick(now)
  t.same(probes, ['p0'], 'the probe went out')
  t.ok(membership.nextDeadline() > now, `the next deadline moved on (${membership.nextDeadline()})`)
})

t.test('a peer coming back up puts no deadline in the past (local health would read it as our own lag)', async (t) => {
  const { config, membership, peers } = setup(1)
  const [peer] = peers
  membership.down(peer, 'goodbye')
  membership.tick(config.heartbeatIntervalMs * TIMERS.probeAfterIntervals)
  t.equal(membership.nextDeadline(), Infinity, 'no live peer, no timer')
  const back = 6000
  membership.up(peer, 2, peer.address, back)
  t.ok(membership.nextDeadline() >= back, `next deadline ${membership.nextDeadline()} is not before the moment it came back (${back})`)
  t.equal(membership.nextDeadline(), back + config.heartbeatIntervalMs * TIMERS.probeAfterIntervals, 'it is the quiet probe of a peer heard just now')
})
