// MdnsDiscovery on real sockets, and against python-zeroconf as a standard browser and responder.
// This file runs in the root namespace and opens no socket: every mDNS socket lives in
// fixtures/mdns-lab.ts, spawned inside a fresh loopback-only namespace (test/lab/one-host.ts) or,
// beside a real avahi-daemon, in a lab host on a bridge (test/lab/netns.ts, test/lab/avahi.ts).
import { ChildProcessWithoutNullStreams, execFileSync } from 'child_process'
import { existsSync, readlinkSync } from 'fs'
import { resolve } from 'path'
import t from 'tap'
import { encode, Packet } from 'dns-packet'
import { childEnv, REPO_ROOT, tsxArgs } from '../lab/agents'
import { avahiProblem, startAvahi } from '../lab/avahi'
import { LineLog } from '../lab/lines'
import { createLab } from '../lab/netns'
import { runInLoopbackNamespace, stopLoopbackNamespace } from '../lab/one-host'
import { exitedWithin } from '../lab/run'

const FIXTURE = resolve(__dirname, 'fixtures', 'mdns-lab.ts')
const PROBE = resolve(__dirname, 'fixtures', 'zeroconf_probe.py')
const OUR_NETNS = readlinkSync('/proc/self/ns/net')
// Debian's python3-zeroconf installs for the system interpreter, which a pyenv shim may hide.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'
const WAIT_MS = 5000

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Line = Record<string, any>

function parse(line: string): Line | null {
  try {
    return JSON.parse(line) as Line
  } catch {
    return null
  }
}

const LAB_ENV = { ...childEnv(), DSN_MDNS_LAB: '1' }

/** The fixture in a namespace holding only lo (test/lab/one-host.ts). */
function loopbackLab(): ChildProcessWithoutNullStreams {
  return runInLoopbackNamespace(process.execPath, tsxArgs(FIXTURE), { cwd: REPO_ROOT, env: LAB_ENV })
}

/** The fixture process inside its namespace, driven by JSON lines. */
async function openLab(launch: () => ChildProcessWithoutNullStreams, stop: (child: ChildProcessWithoutNullStreams) => Promise<unknown> = stopLoopbackNamespace) {
  const child = launch()
  const out = new LineLog(child.stdout, 'mdns-lab')
  const err = new LineLog(child.stderr, 'mdns-lab stderr')
  let nextId = 0
  const event = async (match: (e: Line) => boolean, timeoutMs = WAIT_MS): Promise<Line> => {
    try {
      return parse(await out.waitFor((l) => { const e = parse(l); return !!e && match(e) }, timeoutMs))!
    } catch (e) {
      throw new Error(`${(e as Error).message}\nstderr:\n${err.lines.join('\n')}`)
    }
  }
  const call = async (op: string, args: Line = {}, timeoutMs = WAIT_MS): Promise<Line> => {
    const id = ++nextId
    child.stdin.write(JSON.stringify({ id, op, ...args }) + '\n')
    const reply = await event((e) => e.id === id, timeoutMs)
    if (!reply.ok) throw new Error(`${op} failed: ${reply.error}`)
    return reply
  }
  const ready = await event((e) => e.event === 'ready', 20_000)
  // Refuse loudly, rather than ever let the fixture's sockets share our namespace.
  if (ready.netns === OUR_NETNS) {
    await stop(child)
    throw new Error(`the fixture runs in our own network namespace ${OUR_NETNS}: refusing`)
  }
  return {
    ready,
    out,
    err,
    call,
    event,
    close: async () => {
      child.stdin.end()
      await stop(child)
    },
  }
}

const advert = (nodeId: string, cluster: string, port: number, protocolVersion = 1) => ({ nodeId, cluster, port, protocolVersion })
const peerOf = (node: string, nodeId: string, cluster = 'alpha') => (e: Line) =>
  e.event === 'peer' && e.node === node && e.peer.nodeId === nodeId && e.peer.cluster === cluster
const goneOf = (node: string, nodeId: string, cluster = 'alpha') => (e: Line) =>
  e.event === 'peer-gone' && e.node === node && e.nodeId === nodeId && e.cluster === cluster

function response(answers: Packet['answers']): string {
  return encode({ type: 'response', flags: 0x400, answers }).toString('hex')
}

function serviceRecords(label: string, txt: string[], port: number): Packet['answers'] {
  const instance = `${label}._dsn._udp.local`
  return [
    { name: '_dsn._udp.local', type: 'PTR', ttl: 120, data: instance },
    { name: instance, type: 'SRV', ttl: 120, data: { port, target: 'elsewhere.local' } },
    { name: instance, type: 'TXT', ttl: 120, data: txt },
  ]
}

t.test('mDNS discovery inside a loopback namespace', async (t) => {
  const lab = await openLab(loopbackLab)
  t.teardown(lab.close)
  t.not(lab.ready.netns, OUR_NETNS, 'the fixture runs in its own network namespace')

  await t.test('two nodes of one cluster find each other', async (t) => {
    const a = await lab.call('start', { name: 'a', advert: advert('na', 'alpha', 4001, 1) })
    t.equal(a.instance, 'na@alpha._dsn._udp.local', 'instance label is <nodeId>@<cluster>')
    await lab.call('start', { name: 'b', advert: advert('nb', 'alpha', 4002, 3) })
    const seenByA = await lab.event(peerOf('a', 'nb'))
    const seenByB = await lab.event(peerOf('b', 'na'))
    t.same(seenByA.peer, { nodeId: 'nb', cluster: 'alpha', protocolVersion: 3, host: '127.0.0.1', port: 4002 })
    t.same(seenByB.peer, { nodeId: 'na', cluster: 'alpha', protocolVersion: 1, host: '127.0.0.1', port: 4001 })
    const self = (l: string) => peerOf('a', 'na')(parse(l) ?? {}) || peerOf('b', 'nb')(parse(l) ?? {})
    t.notOk(lab.out.has(self), 'no node reports itself')
  })

  await t.test('nodes of other clusters are reported with their cluster', async (t) => {
    await lab.call('start', { name: 'c', advert: advert('nc', 'beta', 4003) })
    // The same node id in another cluster is another node, not us.
    await lab.call('start', { name: 'd', advert: advert('na', 'beta', 4004) })
    t.same((await lab.event(peerOf('a', 'nc', 'beta'))).peer, { nodeId: 'nc', cluster: 'beta', protocolVersion: 1, host: '127.0.0.1', port: 4003 })
    t.equal((await lab.event(peerOf('a', 'na', 'beta'))).peer.port, 4004)
    t.equal((await lab.event(peerOf('c', 'na', 'alpha'))).peer.port, 4001)
    t.notOk(lab.out.has((l) => peerOf('a', 'na', 'alpha')(parse(l) ?? {})), 'a never reports itself')
  })

  await t.test('stop() sends a goodbye: peer-gone on the others', async (t) => {
    await lab.call('stop', { name: 'b' }) // the fixture calls stop() three times
    t.ok(await lab.event(goneOf('a', 'nb')), 'a saw nb leave')
    t.ok(await lab.event(goneOf('c', 'nb')), 'c (other cluster) saw nb leave')
    const stats = (await lab.call('stats', { name: 'a' })).stats
    t.ok(stats.queries > 0 && stats.responses > 0, 'queries and responses are counted')
    t.notOk((await lab.call('stats', { name: 'a' })).peers.some((p: Line) => p.nodeId === 'nb'), 'nb is forgotten')
  })

  await t.test('a legacy one-shot query gets a unicast answer (RFC 6762 6.7)', async (t) => {
    const query = encode({ type: 'query', id: 4242, questions: [{ name: 'na@alpha._dsn._udp.local', type: 'SRV' }] })
    const { reply } = await lab.call('one-shot', { hex: query.toString('hex') })
    t.equal(reply.packet.id, 4242, 'id echoed')
    t.equal(reply.packet.questions[0]?.name, 'na@alpha._dsn._udp.local', 'question echoed')
    const srv = reply.packet.answers.find((r: Line) => r.type === 'SRV')
    t.equal(srv?.data.port, 4001)
    t.ok(reply.packet.answers.every((r: Line) => r.ttl <= 10), 'TTLs capped at 10 s')
  })

  await t.test('malformed packets are counted, never thrown', async (t) => {
    const before = (await lab.call('stats', { name: 'a' })).stats
    await lab.call('send', { hex: 'deadbeef00ff' }) // does not decode
    await lab.call('send', { hex: response(serviceRecords('bad@alpha', ['id=bad', 'cluster=alpha', 'v=x'], 4998)) })
    await lab.call('send', { hex: response(serviceRecords('badport@alpha', ['id=bp', 'cluster=alpha', 'v=1'], 0)) })
    // Datagrams from one socket arrive in order: once the marker is reported, the junk was handled.
    await lab.call('send', { hex: response(serviceRecords('marker@alpha', ['id=marker', 'cluster=alpha', 'v=1'], 4999)) })
    const marker = await lab.event(peerOf('a', 'marker'))
    t.same(marker.peer, { nodeId: 'marker', cluster: 'alpha', protocolVersion: 1, host: '127.0.0.1', port: 4999 }, 'no A record: the source address')
    const after = (await lab.call('stats', { name: 'a' })).stats
    t.equal(after.malformed - before.malformed, 3, 'undecodable packet, bad TXT and bad SRV counted')
    t.notOk(lab.out.has((l) => ['bad', 'bp'].includes(parse(l)?.peer?.nodeId)), 'nothing reported from junk')
    t.notOk(lab.out.has((l) => parse(l)?.event === 'error'), 'no error events')
  })

  await t.test('python-zeroconf lists and resolves our node', async (t) => {
    requireZeroconf()
    await lab.call('spawn', { name: 'browse', cmd: PYTHON, args: [PROBE, 'browse', '5', 'na@alpha._dsn._udp.local.', 'nc@beta._dsn._udp.local.'] })
    const step = async (name: string): Promise<Line> => {
      const e = await lab.event((e) => (e.event === 'proc-out' && e.proc === 'browse' && parse(e.line)?.step === name) || (e.event === 'proc-exit' && e.proc === 'browse'), 10_000)
      if (e.event === 'proc-exit') throw new Error(`python exited (${e.code}) before "${name}": ${procErr('browse')}`)
      return parse(e.line)!
    }
    const browse = await step('browse')
    t.ok(browse.listed, `ServiceBrowser listed na@alpha and nc@beta (saw ${browse.names.join(', ')})`)
    const info = await step('resolve')
    t.ok(info.resolved, 'get_service_info resolved it')
    t.equal(info.port, 4001)
    t.same(info.addresses, ['127.0.0.1'])
    t.same(info.properties, { id: 'na', cluster: 'alpha', v: '1' })
    const types = await step('types')
    t.ok(types.types.includes('_dsn._udp.local.'), 'service type enumeration lists _dsn._udp')
    t.equal((await lab.event((e) => e.event === 'proc-exit' && e.proc === 'browse')).code, 0, 'python exited cleanly')
  })

  await t.test('we find a service python-zeroconf registers, and its goodbye', async (t) => {
    requireZeroconf()
    const args = [PROBE, 'register', 'py-node@alpha._dsn._udp.local.', '4997', 'py-node', 'alpha', '2']
    await lab.call('spawn', { name: 'register', cmd: PYTHON, args })
    const found = await lab.event(peerOf('a', 'py-node'), 10_000)
    t.same(found.peer, { nodeId: 'py-node', cluster: 'alpha', protocolVersion: 2, host: '127.0.0.1', port: 4997 })
    await lab.call('write', { name: 'register', line: 'unregister' })
    t.ok(await lab.event(goneOf('a', 'py-node')), 'zeroconf goodbye gives peer-gone')
    t.equal((await lab.event((e) => e.event === 'proc-exit' && e.proc === 'register')).code, 0, procErr('register'))
  })

  function procErr(proc: string): string {
    return lab.out.lines.filter((l) => parse(l)?.proc === proc && parse(l)?.event === 'proc-err').map((l) => parse(l)!.line).join('\n')
  }
})

// avahi on one lab host, our node on another, one bridge between them (test/lab/avahi.ts).
// Without avahi this fails, naming the packages: it is never skipped.
t.test('avahi-browse lists and resolves our node; we see avahi-publish', async (t) => {
  const problem = avahiProblem()
  if (problem) throw new Error(`the avahi interop test needs avahi: ${problem}`)
  const net = await createLab({ hosts: 2, prefix: `dsnmd${process.pid.toString(36)}` })
  t.teardown(() => net.destroy())
  const avahi = await startAvahi(net, 0, { hostName: 'avahi-box' })
  t.teardown(() => avahi.stop())
  const ours = net.hosts[1]
  const lab = await openLab(
    () => net.spawn(1, process.execPath, tsxArgs(FIXTURE), { cwd: REPO_ROOT, env: LAB_ENV }),
    async (child) => {
      child.kill('SIGKILL')
      await exitedWithin(child, 5000)
    },
  )
  t.teardown(lab.close)
  t.not(lab.ready.netns, OUR_NETNS, 'the fixture runs in its own network namespace')
  const a = await lab.call('start', { name: 'a', advert: advert('na', 'alpha', 4001), options: { interfaceAddress: ours.address } })
  t.equal(a.instance, 'na@alpha._dsn._udp.local')

  const seen = await avahi.browse('_dsn._udp')
  const resolved = seen.find((e) => e.event === '=' && e.name === 'na@alpha')
  t.ok(resolved, `avahi-browse resolved na@alpha (saw ${JSON.stringify(seen)})`)
  if (resolved) {
    t.same([resolved.type, resolved.domain, resolved.address, resolved.port], ['_dsn._udp', 'local', ours.address, 4001])
    t.match(resolved.host, /^dsn-na-[0-9a-f]{8}\.local$/, 'the SRV target is a host name of the node, never the machine host name')
    t.same(resolved.txt?.sort(), ['cluster=alpha', 'id=na', 'v=1'])
  }
  t.equal(await avahi.resolveHostName(resolved?.host ?? 'none'), ours.address, "avahi-resolve finds our host name's A record")

  const publish = await avahi.publishService('av-node@alpha', '_dsn._udp', 4995, ['id=av-node', 'cluster=alpha', 'v=4'])
  const found = await lab.event(peerOf('a', 'av-node'), 10_000)
  t.same(found.peer, { nodeId: 'av-node', cluster: 'alpha', protocolVersion: 4, host: net.hosts[0].address, port: 4995 })
  await publish.stop()
  t.ok(await lab.event(goneOf('a', 'av-node')), "avahi's goodbye gives peer-gone")
})

function requireZeroconf(): void {
  try {
    execFileSync(PYTHON, ['-c', 'import zeroconf'], { stdio: 'pipe' })
  } catch {
    throw new Error(`${PYTHON} cannot import zeroconf: install Debian's python3-zeroconf (apt-get install -y python3-zeroconf)`)
  }
}
