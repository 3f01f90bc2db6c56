// Zero configuration on Wi-Fi (issue 9), on real sockets in the namespace lab: for every
// profile of test/lab/wifi.ts, four nodes with no static peers end with every node holding
// every other node's last value; healed, every path goes back to multicast alone.
import t, { type Test } from 'tap'
import { createLab, type Lab } from '../lab/netns'
import { applyWifiProfile, healWifi, WIFI_PROFILES, type WifiProfile } from '../lab/wifi'
import { allSee, MeshAgent } from './agent'

const HOSTS = 4

interface PeerView {
  nodeId: string
  path: string
  multicastOut: number | null
  multicastIn: number | null
}

async function peerViews(agent: MeshAgent): Promise<PeerView[]> {
  return (await agent.status()).peers as unknown as PeerView[]
}

/** Polls (once per heartbeat) until `ok` holds for every agent's peer views. */
async function untilPaths(agents: MeshAgent[], ok: (views: PeerView[]) => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const all = await Promise.all(agents.map(peerViews))
    if (all.every((v) => v.length === agents.length - 1 && ok(v))) return true
    if (Date.now() > deadline) return false
    await new Promise((r) => setTimeout(r, 1000))
  }
}

async function lastValuesEverywhere(agents: MeshAgent[], round: number): Promise<void> {
  await Promise.all(agents.map((a) => a.request({ op: 'set', key: 'v', value: `${a.nodeId}:${round}` })))
  await Promise.all(agents.flatMap((reader) => agents.filter((o) => o !== reader).map((o) => reader.waitValue(o.nodeId, 'v', `${o.nodeId}:${round}`, 20_000))))
}

async function profileTest(t: Test, profile: WifiProfile, index: number): Promise<void> {
  const lab: Lab = await createLab({ hosts: HOSTS, prefix: `dsnw${index}` })
  t.teardown(() => lab.destroy())
  // 'bridge-blocked' hits a running cluster; the others are there before the first node starts.
  if (profile !== 'bridge-blocked') await applyWifiProfile(lab, profile)
  const started = Date.now()
  const agents = await Promise.all(lab.hosts.map((h) => MeshAgent.start(lab, h.index, { nodeId: `node${h.index}` })))
  t.teardown(() => Promise.all(agents.map((a) => a.kill())))
  await allSee(agents, agents.map((a) => a.nodeId), 20_000)
  t.pass(`${profile}: every node sees every other ${Date.now() - started} ms after the start (no static peers)`)
  if (profile === 'bridge-blocked') {
    await lastValuesEverywhere(agents, 0)
    await applyWifiProfile(lab, profile)
  }
  const wrote = Date.now()
  for (let round = 1; round <= 3; round++) await lastValuesEverywhere(agents, round)
  t.pass(`${profile}: every node holds every other node's last value (3 rounds in ${Date.now() - wrote} ms)`)
  const views = await Promise.all(agents.map(peerViews))
  t.comment(views.map((v, i) => `node${i}: ` + v.map((p) => `${p.nodeId} ${p.path} out ${p.multicastOut} in ${p.multicastIn}`).join('; ')).join('\n'))
  t.ok(views.flat().some((p) => p.path !== 'multicast'), 'some path uses unicast')
  const counters = await Promise.all(agents.map(async (a) => (await a.status()).counters))
  t.ok(counters.some((c) => (c['path-changes.unicast-added'] ?? 0) > 0 || views.flat().some((p) => p.path === 'unicast')), 'path changes counted')
  t.equal(counters.reduce((s, c) => s + (c['peers-down.timeout'] ?? 0), 0), 0, 'no peer declared down')

  await healWifi(lab)
  const healed = Date.now()
  t.ok(await untilPaths(agents, (v) => v.every((p) => p.path === 'multicast'), 60_000), 'healed: every path multicast alone again')
  t.pass(`${profile}: back to multicast ${Date.now() - healed} ms after healing`)
  await lastValuesEverywhere(agents, 4)
}

WIFI_PROFILES.forEach((profile, i) => t.test(profile, (t) => profileTest(t, profile, i)))
