// End to end from the built bundle, in network namespaces made here: two `dsn run` daemons,
// `dsn set` on one and `dsn get` on the other, `dsn watch`, `dsn peers`, SIGTERM -> peer-down,
// and the error paths that need a real node (port in use). On the host's Node, on Debian's
// Node 18 (amd64), and a two-node exchange on Node 18 arm64 under qemu.
// The CLI clients run outside the namespaces: they only open the daemons' Unix sockets.
import t, { type Test } from 'tap'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { LineLog } from '../lab/lines'
import { createLab, labAvailable, type Lab } from '../lab/netns'
import { buildBundleCopy, ensureRuntimes, launcher, run, type Ran } from './bundle-helpers'

const KEY = '5e'.repeat(32)
const UNICAST_PORT = '47475'

interface Daemon {
  nodeId: string
  socket: string
  child: ChildProcessWithoutNullStreams
  log: LineLog
  exit: Promise<number | null>
}

type Log = Record<string, unknown>
const msgIs = (msg: string, extra: (l: Log) => boolean = () => true) => (line: string) => {
  try {
    const l = JSON.parse(line) as Log
    return l.msg === msg && extra(l)
  } catch {
    return false
  }
}

class Scenario {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'dsn-e2e-'))

  constructor(
    private readonly t: Test,
    readonly lab: Lab,
    readonly node: string,
    readonly bundle: string,
    private readonly slow: number,
  ) {
    t.teardown(() => rmSync(this.dir, { recursive: true, force: true }))
  }

  env(host: number, nodeId: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      DSN_NETWORK_KEY: KEY,
      DSN_NODE_ID: nodeId,
      DSN_CLUSTER: 'e2e',
      DSN_INTERFACE: this.lab.hosts[host].iface,
      DSN_SOCKET: path.join(this.dir, `${nodeId}.sock`),
      DSN_CREDENTIAL_DIR: path.join(this.dir, nodeId),
      ...extra,
    }
  }

  /** `dsn run` from the bundle inside host's namespace; resolves once it logs "started". */
  async daemon(host: number, nodeId: string, extra: NodeJS.ProcessEnv = {}): Promise<Daemon> {
    const env = this.env(host, nodeId, extra)
    const child = this.lab.spawn(host, 'env', ['-u', 'NODE_OPTIONS', this.node, this.bundle, 'run'], { env })
    const log = new LineLog(child.stdout, `${nodeId} stdout`)
    const stderr = new LineLog(child.stderr, `${nodeId} stderr`)
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    try {
      await log.waitFor(msgIs('started'), 20_000 * this.slow)
    } catch (err) {
      throw new Error(`${nodeId} did not start: ${(err as Error).message}; stderr: ${stderr.lines.join('\n')}`)
    }
    return { nodeId, socket: env.DSN_SOCKET as string, child, log, exit }
  }

  dsn(d: Daemon, ...args: string[]): Promise<Ran> {
    return run(this.node, [this.bundle, ...args, '--socket', d.socket], {}, 30_000 * this.slow)
  }

  /** Polls `dsn` until check passes; the last result for the message otherwise. */
  async until(d: Daemon, args: string[], check: (r: Ran) => boolean, timeoutMs: number): Promise<Ran> {
    const deadline = Date.now() + timeoutMs * this.slow
    let last = await this.dsn(d, ...args)
    while (!check(last) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100))
      last = await this.dsn(d, ...args)
    }
    this.t.ok(check(last), `dsn ${args.join(' ')} on ${d.nodeId}: ${JSON.stringify(last)}`)
    return last
  }
}

async function fullScenario(t: Test, prefix: string, node: string, bundle: string, slow = 1): Promise<void> {
  const lab = await createLab({ hosts: 2, prefix, subnet: '10.47.9' })
  t.teardown(() => lab.destroy())
  const s = new Scenario(t, lab, node, bundle, slow)
  const [n0, n1] = await Promise.all([s.daemon(0, 'n0', { DSN_UNICAST_PORT: UNICAST_PORT }), s.daemon(1, 'n1')])
  t.notOk(n0.log.lines.some((l) => l.includes(KEY)), 'the key is not logged')

  await s.until(n1, ['peers', '--json'], (r) => peerIds(r.stdout) === 'n0,n1', 5000)
  await s.until(n0, ['peers'], (r) => r.stdout === 'n0\nn1\n', 5000)

  const watch = spawn('env', ['-u', 'NODE_OPTIONS', node, bundle, 'watch', '--socket', n1.socket])
  t.teardown(() => void watch.kill('SIGKILL'))
  const events = new LineLog(watch.stdout, 'watch')
  const watchExit = new Promise<number | null>((resolve) => watch.once('exit', (code) => resolve(code)))
  // The watch is registered once it sees one of n1's own writes (it takes a moment to start).
  for (let i = 0; !events.has(/"key":"ready"/) && i < 100; i++) {
    t.equal((await s.dsn(n1, 'set', 'ready', String(i))).code, 0)
    await events.waitFor(/"key":"ready"/, 200 * slow).catch(() => undefined)
  }
  t.ok(events.has(/"key":"ready"/), 'dsn watch is streaming')

  const set = await s.dsn(n0, 'set', 'temperature', '21.5')
  t.same([set.code, set.stderr], [0, ''], 'dsn set on n0')
  await s.until(n1, ['get', 'n0', 'temperature'], (r) => r.code === 0 && r.stdout === '21.5\n', 5000)
  t.same(JSON.parse(await events.waitFor(/"nodeId":"n0","key":"temperature"/, 5000)), { event: 'update', nodeId: 'n0', key: 'temperature', value: 21.5, deleted: false }, 'dsn watch on n1 saw it')

  await s.dsn(n0, 'set', 'blob', '{"$bytes":"AAEC/w=="}')
  await s.dsn(n0, 'set', 'label', 'kitchen window')
  await s.until(n1, ['get', 'n0', 'blob', '--json'], (r) => r.stdout === '{"$bytes":"AAEC/w=="}\n', 5000)
  await s.until(n1, ['get', 'n0', 'label'], (r) => r.stdout === 'kitchen window\n', 5000)
  const missing = await s.dsn(n1, 'get', 'n0', 'humidity')
  t.same([missing.code, missing.stderr], [6, 'dsn get: node "n0" has no key "humidity"\n'], 'unknown key: exit 6')

  const status = JSON.parse((await s.dsn(n1, 'status', '--json')).stdout) as { nodeId: string; peers: { nodeId: string; publicKey: string }[] }
  const id = JSON.parse((await s.dsn(n0, 'id', '--json')).stdout) as { nodeId: string; publicKey: string }
  t.equal(status.nodeId, 'n1')
  const human = await s.dsn(n1, 'status')
  t.equal(human.code, 0, human.stderr)
  t.match(human.stdout, /^node +n1 \(incarnation \d+, seq \d+, \d+ keys\)$/m)
  t.match(human.stdout, /^ {2}n0 +10\.47\.9\.1:47475 +3 keys/m, 'the human status lists n0')
  t.same(status.peers.map((p) => [p.nodeId, p.publicKey]), [['n0', id.publicKey]], 'n1 knows n0 by the key `dsn id` prints on n0')

  // Another daemon in n0's namespace on n0's unicast port: refused, exit 5.
  const clash = await lab.exec(0, 'env', ['-u', 'NODE_OPTIONS', node, bundle, 'run'], { env: s.env(0, 'n2', { DSN_UNICAST_PORT: UNICAST_PORT }), timeoutMs: 30_000 * slow })
  t.equal(clash.code, 5, 'port in use: exit 5')
  t.match(clash.stderr, /^dsn run: .*47475.* in use/)

  n0.child.kill('SIGTERM')
  t.equal(await n0.exit, 0, 'SIGTERM: exit 0')
  t.ok(n0.log.has(msgIs('stopped')))
  const down = JSON.parse(await n1.log.waitFor(msgIs('peer-down', (l) => l.nodeId === 'n0'), 2000)) as Log
  t.equal(down.reason, 'goodbye', 'n1 logs peer-down at once (goodbye)')
  t.match(JSON.parse(await events.waitFor(/"event":"peer-down"/, 2000)), { event: 'peer-down', nodeId: 'n0', reason: 'goodbye' }, 'dsn watch saw peer-down')
  await s.until(n1, ['peers'], (r) => r.stdout === 'n1\n', 2000)
  const gone = await s.dsn(n0, 'get')
  t.equal(gone.code, 3, 'the stopped daemon: exit 3')

  n1.child.kill('SIGTERM')
  t.equal(await n1.exit, 0)
  t.equal(await watchExit, 3, 'dsn watch exits 3 when its daemon stops')
}

const available = labAvailable()
if (!available.ok) {
  t.fail(`the namespace lab cannot run here: ${available.reason}`)
} else {
  const bundle = buildBundleCopy(t)

  t.test('two daemons from the bundle, host Node', (t) => fullScenario(t, 'dsncli0', process.execPath, bundle))

  const problem = ensureRuntimes(['amd64', 'arm64'])
  if (problem) {
    t.fail(`no Node 18 runtimes: ${problem}`)
  } else {
    t.test('two daemons from the bundle, Debian Node 18 amd64', (t) => fullScenario(t, 'dsncli1', launcher('amd64'), bundle))

    t.test('two-node exchange on Debian Node 18 arm64 (qemu)', async (t) => {
      const lab = await createLab({ hosts: 2, prefix: 'dsncli2', subnet: '10.47.9' })
      t.teardown(() => lab.destroy())
      const s = new Scenario(t, lab, launcher('arm64'), bundle, 4)
      // qemu-user 7.2 does not translate setsockopt(IP_MULTICAST_IF) (ENOPROTOOPT), so under
      // emulation the two nodes use static unicast peers; a real arm64 board does multicast.
      const unicastOnly = (peer: number) => ({ DSN_MULTICAST: 'false', DSN_MDNS: 'false', DSN_UNICAST_PORT: UNICAST_PORT, DSN_STATIC_PEERS: `${lab.hosts[peer].address}:${UNICAST_PORT}` })
      const [n0, n1] = await Promise.all([s.daemon(0, 'n0', unicastOnly(1)), s.daemon(1, 'n1', unicastOnly(0))])
      await s.until(n1, ['peers', '--json'], (r) => peerIds(r.stdout) === 'n0,n1', 10_000)
      t.equal((await s.dsn(n0, 'set', 'arch', 'arm64')).code, 0)
      await s.until(n1, ['get', 'n0', 'arch'], (r) => r.stdout === 'arm64\n', 10_000)
      n0.child.kill('SIGTERM')
      t.equal(await n0.exit, 0)
      await n1.log.waitFor(msgIs('peer-down', (l) => l.nodeId === 'n0' && l.reason === 'goodbye'), 10_000)
      n1.child.kill('SIGTERM')
      t.equal(await n1.exit, 0)
    })
  }
}

/** Node ids in `dsn peers --json` output (objects, self included); '' when it is not that yet. */
function peerIds(stdout: string): string {
  try {
    return (JSON.parse(stdout) as Array<{ nodeId: string }>).map((p) => p.nodeId).join(',')
  } catch {
    return ''
  }
}
