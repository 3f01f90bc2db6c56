// Liveness on the simulated LAN: a restart replaces the old incarnation everywhere, a goodbye
// drops a node at once, and a killed node is declared down within the peer timeout.
import t from 'tap'
import { SimNetwork, type SimNode } from '../sim/network'
import { digestsAgree, mismatches, runUntil } from './sim-helpers'

function cluster(seed: number, loss = 0): { net: SimNetwork; nodes: SimNode[] } {
  const net = new SimNetwork(seed, { loss })
  const nodes = ['a', 'b', 'c', 'd', 'e'].map((id) => net.add(id))
  return { net, nodes }
}

t.test('restart: the new incarnation replaces the old state everywhere (restart, then peer-up)', async (t) => {
  const { net, nodes } = cluster(21, 0.1)
  const [x, ...others] = nodes
  t.ok(runUntil(net, 5000, () => digestsAgree(net)))
  x.engine.set('old', 1)
  x.engine.set('shared', 'before')
  t.ok(runUntil(net, 3000, () => digestsAgree(net)), 'the old incarnation state reached everyone')
  const oldIncarnation = x.engine.incarnation

  net.kill(x)
  net.runFor(300)
  net.restart(x)
  x.engine.set('shared', 'after')
  x.engine.set('fresh', true)
  t.ok(x.engine.incarnation > oldIncarnation, `new incarnation ${x.engine.incarnation} > ${oldIncarnation}`)
  t.ok(runUntil(net, 5000, () => digestsAgree(net)), `converged ${Math.round(net.now)} ms`)
  for (const o of others) {
    t.same({ ...o.engine.state('a') }, { shared: 'after', fresh: true }, `${o.nodeId} holds only the new incarnation's state`)
    const downs = o.eventsOf('peer-down').filter((e) => e.event.nodeId === 'a')
    const ups = o.eventsOf('peer-up').filter((e) => e.event.nodeId === 'a')
    t.same(downs.map((e) => [e.event.reason, e.event.incarnation]), [['restart', oldIncarnation]], `${o.nodeId}: peer-down restart of the old incarnation`)
    t.same(ups.map((e) => e.event.incarnation), [oldIncarnation, x.engine.incarnation], `${o.nodeId}: peer-up for the new incarnation`)
    const order = o.events.filter((e) => (e.type === 'peer-down' || e.type === 'peer-up') && e.event.nodeId === 'a').map((e) => e.type)
    t.same(order, ['peer-up', 'peer-down', 'peer-up'], `${o.nodeId}: up, down (restart), up`)
    const deleted = o.eventsOf('update').filter((e) => e.event.nodeId === 'a' && e.event.deleted)
    if (o === others[0]) t.comment(`the old incarnation's keys vanish with its replica: ${deleted.length} per-key delete events, the peer-down/peer-up pair tells the application`)
  }
  t.same(mismatches(net), [])
})

t.test('goodbye: stop() drops the node everywhere at once', async (t) => {
  const { net, nodes } = cluster(22)
  const [x, ...others] = nodes
  t.ok(runUntil(net, 5000, () => digestsAgree(net)))
  const at = net.now
  x.engine.stop(net.now)
  net.drain(x)
  t.ok(x.engine.isStopped)
  t.ok(runUntil(net, 100, () => others.every((o) => o.eventsOf('peer-down').length > 0), 1), 'every peer saw it go')
  for (const o of others) {
    const [down] = o.eventsOf('peer-down')
    t.equal(down.event.reason, 'goodbye', `${o.nodeId}: reason goodbye`)
    t.notOk(o.engine.peers.get('a')?.replica, `${o.nodeId} no longer lists a`)
  }
  t.ok(net.now - at < 10, `within ${(net.now - at).toFixed(1)} ms`)
  net.runFor(5000)
  t.same(others.map((o) => o.eventsOf('peer-down').length), [1, 1, 1, 1], 'no second peer-down later (no timeout on top)')
  t.same(others.map((o) => o.eventsOf('peer-up').filter((e) => e.event.nodeId === 'a').length), [1, 1, 1, 1], 'and it does not come back')
  t.throws(() => x.engine.set('k', 1), { code: 'DSN_STOPPED' })
})

t.test('kill -9: every peer declares it down (timeout) within peerTimeoutMs', async (t) => {
  const { net, nodes } = cluster(23, 0.3)
  const [x, ...others] = nodes
  t.ok(runUntil(net, 5000, () => digestsAgree(net)))
  net.runFor(1234)
  const timeout = x.config.peerTimeoutMs
  const killedAt = net.now
  net.kill(x)
  net.runFor(timeout + 500)
  for (const o of others) {
    const downs = o.eventsOf('peer-down').filter((e) => e.event.nodeId === 'a')
    t.equal(downs.length, 1, `${o.nodeId}: one peer-down`)
    const at = o.events.indexOf(downs[0])
    t.equal(downs[0]?.event.reason, 'timeout', `${o.nodeId}: reason timeout (event #${at})`)
  }
  // When exactly: re-run the same seed and watch the clock.
  const again = cluster(23, 0.3)
  runUntil(again.net, 5000, () => digestsAgree(again.net))
  again.net.runFor(1234)
  const victim = again.nodes[0]
  again.net.kill(victim)
  const t0 = again.net.now
  const downAt = new Map<string, number>()
  runUntil(again.net, timeout + 500, () => {
    for (const o of again.nodes.slice(1)) if (!downAt.has(o.nodeId) && o.eventsOf('peer-down').length > 0) downAt.set(o.nodeId, again.net.now - t0)
    return downAt.size === 4
  }, 1)
  t.equal(killedAt, t0, 'same schedule')
  const worst = Math.max(...downAt.values())
  t.comment(`declared down after ${[...downAt].map(([id, ms]) => `${id} ${Math.round(ms)} ms`).join(', ')} (peerTimeoutMs ${timeout})`)
  t.ok(downAt.size === 4 && worst <= timeout + 20, `all four within peerTimeoutMs + 20 ms (worst ${Math.round(worst)} ms)`)
  t.same(mismatches(again.net), [], 'the survivors still agree')
})
