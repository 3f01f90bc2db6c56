// Proves the namespace lab itself: topology, multicast flooding, each
// impairment, counters, the socket guard, and complete teardown.
import t from 'tap'
import { resolve } from 'path'
import { AGENT_GROUP, childEnv, REPO_ROOT, startAgent, UdpAgent } from './agents'
import { listNamespacesSync } from './cleanup'
import { assertInLabNamespace, createLab, isInLabNamespace, Lab, labAvailable } from './netns'
import { run } from './run'

const PREFIX = 'dsnlabt'
const GUARD = resolve(__dirname, 'guard.ts')
const GUARD_SCRIPT = `require(${JSON.stringify(GUARD)}).assertInLabNamespace(); console.log('inside ok')`

function labNamespaces(): string[] {
  return listNamespacesSync().filter((n) => n.startsWith(PREFIX))
}

function runGuard(lab: Lab, host: number) {
  return lab.exec(host, process.execPath, ['--import', 'tsx', '-e', GUARD_SCRIPT], { cwd: REPO_ROOT, env: childEnv(), timeoutMs: 20_000 })
}

const available = labAvailable()
if (!available.ok) {
  // A silent skip would hide that no network test ran at all.
  t.fail(`the namespace lab cannot run here: ${available.reason}`)
} else {
  t.test('namespace lab', async (t) => {
    t.throws(() => assertInLabNamespace(), /refusing to open a mesh socket outside a test network namespace/, 'guard refuses the root namespace')
    t.equal(isInLabNamespace(), false)

    const lab = await createLab({ hosts: 3, prefix: PREFIX })
    t.teardown(() => lab.destroy())
    t.same(labNamespaces().sort(), [`${PREFIX}br`, `${PREFIX}h0`, `${PREFIX}h1`, `${PREFIX}h2`], 'one namespace per host plus the bridge')
    t.same(lab.hosts.map((h) => h.address), ['10.47.0.1', '10.47.0.2', '10.47.0.3'])

    // Each agent calls assertInLabNamespace() before binding, so "ready" also proves the guard passes inside.
    const agents: UdpAgent[] = await Promise.all([0, 1, 2].map((i) => startAgent(lab, i)))
    const [a0, a1, a2] = agents
    const addr = (i: number) => lab.hosts[i].address

    await t.test('guard passes inside, and refuses a namespace with a default route', async (t) => {
      const inside = await runGuard(lab, 0)
      t.equal(inside.code, 0, inside.stderr)
      t.equal(inside.stdout.trim(), 'inside ok')
      const add = await lab.exec(0, 'ip', ['route', 'add', 'default', 'via', '10.47.0.254'])
      t.equal(add.code, 0, add.stderr)
      const routed = await runGuard(lab, 0)
      t.not(routed.code, 0)
      t.match(routed.stderr, /refusing to open a mesh socket outside a test network namespace: this namespace has a default route via eth0/)
      await lab.exec(0, 'ip', ['route', 'del', 'default'])
    })

    await t.test('unicast between every pair', async (t) => {
      for (const [from, to] of [[0, 1], [1, 2], [2, 0]]) {
        await agents[from].send(addr(to), `uni${from}${to}`)
        await agents[to].received(addr(from), `uni${from}${to}`)
        t.pass(`h${from} -> h${to}`)
      }
    })

    await t.test('multicast floods to every host, counters count it', async (t) => {
      const before0 = await lab.counters(0)
      const before1 = await lab.counters(1)
      await a0.send(AGENT_GROUP, 'mc1')
      await Promise.all([a1.received(addr(0), 'mc1'), a2.received(addr(0), 'mc1')])
      const after0 = await lab.counters(0)
      const after1 = await lab.counters(1)
      t.ok(after0.txPackets > before0.txPackets && after0.txBytes > before0.txBytes, 'sender tx grew')
      t.ok(after1.rxPackets > before1.rxPackets && after1.rxBytes > before1.rxBytes, 'receiver rx grew')
    })

    await t.test('blockMulticast leaves unicast working', async (t) => {
      await lab.blockMulticast(1)
      await a0.send(AGENT_GROUP, 'mc2')
      await a2.received(addr(0), 'mc2')
      // Same sender, same path: once the later unicast is in, mc2 would have been too.
      await a0.send(addr(1), 'uc2')
      await a1.received(addr(0), 'uc2')
      t.notOk(a1.heard(addr(0), 'mc2'), 'blocked host missed the multicast')
      await a1.send(AGENT_GROUP, 'mc2out')
      await a1.send(addr(0), 'uc2out')
      await a0.received(addr(1), 'uc2out')
      t.notOk(a0.heard(addr(1), 'mc2out'), 'blocked host cannot multicast either')
      await lab.unblockMulticast(1)
      await a0.send(AGENT_GROUP, 'mc3')
      await a1.received(addr(0), 'mc3')
      t.pass('unblockMulticast restores it')
    })

    await t.test('setLoss(100) drops all UDP both ways, setLoss(0) restores it', async (t) => {
      await lab.setLoss(1, 100)
      await a0.send(addr(1), 'lost1')
      await a0.send(AGENT_GROUP, 'lostm')
      await a2.received(addr(0), 'lostm')
      const tx = (await lab.counters(1)).txPackets
      await a1.send(addr(0), 'lostout')
      t.ok((await lab.counters(1)).txPackets > tx, 'the lossy host still counts what it sent (loss is on the wire)')
      await lab.setLoss(1, 0)
      await a0.send(addr(1), 'back1')
      await a1.received(addr(0), 'back1')
      await a1.send(addr(0), 'backout')
      await a0.received(addr(1), 'backout')
      t.notOk(a1.heard(addr(0), 'lost1'), 'unicast in was dropped')
      t.notOk(a1.heard(addr(0), 'lostm'), 'multicast in was dropped')
      t.notOk(a0.heard(addr(1), 'lostout'), 'unicast out was dropped')
    })

    await t.test('setLoss(50) drops about half', async (t) => {
      await lab.setLoss(1, 50)
      await a0.burst(addr(1), 'half', 400)
      await lab.setLoss(1, 0)
      await a0.send(addr(1), 'back2')
      await a1.received(addr(0), 'back2')
      // Only h1's input rule applies; mean 200, sd 10.
      const got = a1.out.count(/^recv 10\.47\.0\.1 half\d+$/)
      t.ok(got > 130 && got < 270, `received ${got} of 400`)
    })

    await t.test('partition and heal', async (t) => {
      await lab.partition([0, 1], [2])
      await a0.send(AGENT_GROUP, 'pm1')
      await a1.received(addr(0), 'pm1')
      await a0.send(addr(2), 'pu1')
      await a2.send(AGENT_GROUP, 'pm2')
      await a2.send(addr(1), 'pu2')
      await a1.send(addr(0), 'inside1')
      await a0.received(addr(1), 'inside1')
      const rules = await run('ip', ['netns', 'exec', lab.bridgeNs, 'nft', 'list', 'table', 'netdev', 'dsnlab_vh2'])
      t.match(rules.stdout, /ip saddr \{ 10\.47\.0\.1, 10\.47\.0\.2 \}.* drop/, 'rules name the other group')
      await lab.heal()
      const tables = await run('ip', ['netns', 'exec', lab.bridgeNs, 'nft', 'list', 'tables'])
      t.notMatch(tables.stdout, /dsnlab/, 'heal removes the now-empty tables')
      await a0.send(AGENT_GROUP, 'hm1')
      await a0.send(addr(2), 'hu1')
      await a2.send(AGENT_GROUP, 'hm2')
      await a2.send(addr(1), 'hu2')
      await Promise.all([
        a2.received(addr(0), 'hm1'),
        a2.received(addr(0), 'hu1'),
        a0.received(addr(2), 'hm2'),
        a1.received(addr(2), 'hm2'),
        a1.received(addr(2), 'hu2'),
      ])
      t.notOk(a2.heard(addr(0), 'pm1') || a2.heard(addr(0), 'pu1'), 'h2 heard nothing from h0 while cut off')
      t.notOk(a0.heard(addr(2), 'pm2') || a1.heard(addr(2), 'pm2') || a1.heard(addr(2), 'pu2'), 'h0 and h1 heard nothing from h2')
    })

    await t.test('destroy removes every namespace and process', async (t) => {
      await lab.destroy()
      await lab.destroy()
      t.same(labNamespaces(), [], 'no namespace with the prefix remains')
      for (const a of agents) t.ok(a.child.exitCode !== null || a.child.signalCode !== null, `agent h${a.host} ended`)
    })
  })

  // The benchmarks' lab: each veth delivers from a kernel thread of its own, as a switch and a
  // NIC would, so a sender's syscall no longer does the flood and every host's receive.
  t.test('a lab with network threads', async (t) => {
    const plain = await createLab({ hosts: 2, prefix: `${PREFIX}p` })
    t.teardown(() => plain.destroy())
    t.ok(Number.isNaN(plain.networkCpuNs()), 'a lab without them reports NaN')
    await plain.destroy()

    const lab = await createLab({ hosts: 3, prefix: `${PREFIX}n`, networkThreads: true })
    t.teardown(() => lab.destroy())
    const gro = await run('ip', ['netns', 'exec', lab.hosts[0].ns, 'ethtool', '-k', 'eth0'])
    t.match(gro.stdout, /generic-receive-offload: on/, 'GRO on, so veth uses its NAPI queue')
    const threaded = await run('ip', ['netns', 'exec', lab.hosts[0].ns, 'cat', '/sys/class/net/eth0/threaded'])
    t.equal(threaded.stdout.trim(), '1', 'that queue has a kernel thread')
    const agents = await Promise.all([0, 1, 2].map((i) => startAgent(lab, i)))
    const addr = (i: number) => lab.hosts[i].address
    const before = lab.networkCpuNs()
    await agents[0].burst(AGENT_GROUP, 'thr', 200)
    await Promise.all([agents[1].received(addr(0), 'thr199'), agents[2].received(addr(0), 'thr199')])
    await agents[1].send(addr(2), 'uni12')
    await agents[2].received(addr(1), 'uni12')
    t.equal(agents[1].out.count(/^recv 10\.47\.0\.1 thr\d+$/), 200, 'every multicast datagram arrived')
    t.ok(lab.networkCpuNs() > before, 'the delivery threads did the work')
    await lab.setLoss(2, 100)
    await agents[0].send(AGENT_GROUP, 'lostthr')
    await agents[1].received(addr(0), 'lostthr')
    await lab.setLoss(2, 0)
    await agents[0].send(AGENT_GROUP, 'backthr')
    await agents[2].received(addr(0), 'backthr')
    t.notOk(agents[2].heard(addr(0), 'lostthr'), 'loss on the wire still applies')
  })
}
