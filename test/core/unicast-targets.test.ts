// The group's unicast targets are reused for a short while instead of walking every peer per
// datagram, and recomputed at once when peers, candidates or receiver reports change.
import t from 'tap'
import { Counters } from '../../src/core/counters'
import type { Peer } from '../../src/core/peer'
import type { Replica } from '../../src/core/replica'
import { GROUP_TARGETS_REUSE_MS, UnicastTargets } from '../../src/core/unicast-targets'

function peer(nodeId: string, address: string, lastMulticastAt: number): Peer {
  return { nodeId, address, lastMulticastAt, replica: {} as Replica, incarnation: 1 } as Peer
}

function setup(multicast = true): { targets: UnicastTargets; peers: Map<string, Peer> } {
  const targets = new UnicastTargets(['10.0.0.9:5000'], multicast, 2500, 64, { heartbeatIntervalMs: 1000, maxUnicastPeers: 64, counters: new Counters() })
  const peers = new Map([['a', peer('a', '10.0.0.1:5000', 0)], ['b', peer('b', '10.0.0.2:5000', 0)]])
  return { targets, peers }
}

t.test('reused within the window, recomputed after it', async (t) => {
  const { targets, peers } = setup()
  const first = targets.forGroup(0, peers.values())
  t.same([...first], ['10.0.0.9:5000'], 'static peer only: both peers hear our multicast (guessed)')
  t.equal(targets.forGroup(GROUP_TARGETS_REUSE_MS - 1, peers.values()), first, 'the same answer, no walk')
  t.not(targets.forGroup(GROUP_TARGETS_REUSE_MS, peers.values()), first, 'recomputed once the window is over')
})

t.test('a new candidate, a report or a peer change is seen at the next send', async (t) => {
  const { targets, peers } = setup()
  const first = targets.forGroup(0, peers.values())
  targets.addCandidate('10.0.0.3:5000', 1, peers.values())
  t.ok(targets.forGroup(2, peers.values()).includes('10.0.0.3:5000'), 'candidate added')
  targets.heard('10.0.0.3:5000')
  t.notOk(targets.forGroup(3, peers.values()).includes('10.0.0.3:5000'), 'candidate heard: a peer now')
  // Peer a reports hearing none of our multicast: it gets unicast copies at once.
  targets.paths.report('a', 1, { kind: 'listed', ratio: 0 }, 4)
  t.ok(targets.forGroup(5, peers.values()).includes('10.0.0.1:5000'), 'bad report: unicast copy at once')
  const before = targets.forGroup(6, peers.values())
  targets.peersChanged()
  t.not(targets.forGroup(7, peers.values()), before, 'a peer change drops the reused answer')
  t.not(before, first)
})

t.test('with multicast off every live peer is a target, a peer up appears at once', async (t) => {
  const { targets, peers } = setup(false)
  t.same([...targets.forGroup(0, peers.values())].sort(), ['10.0.0.1:5000', '10.0.0.2:5000', '10.0.0.9:5000'])
  peers.set('c', peer('c', '10.0.0.4:5000', 0))
  targets.peersChanged()
  t.ok(targets.forGroup(1, peers.values()).includes('10.0.0.4:5000'))
})

t.test('an answer to one address is never cached for the group', async (t) => {
  const { targets, peers } = setup()
  t.ok(targets.forGroup(0, peers.values(), '10.0.0.7:5000').includes('10.0.0.7:5000'), 'a stranger gets its copy')
  t.notOk(targets.forGroup(1, peers.values()).includes('10.0.0.7:5000'), 'the group does not')
})
