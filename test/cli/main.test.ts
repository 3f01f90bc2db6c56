// `dsn` in-process: every command against a daemon on a fake node, and every error path's
// message and exit status. No network socket is opened (the fake node has none).
import t, { type Test } from 'tap'
import { writeFileSync } from 'node:fs'
import * as path from 'node:path'
import type { CliDeps } from '../../src/cli/context'
import { COMMANDS, main } from '../../src/cli/main'
import { Daemon } from '../../src/daemon/daemon'
import { Logger } from '../../src/daemon/logger'
import { loadRunSettings } from '../../src/daemon/run-config'
import { DsnError } from '../../src/errors'
import { fakeStarter, tempDir, type FakeNode } from '../daemon/fakes'

const KEY = '0f'.repeat(32)

interface Result {
  code: number
  out: string
  err: string
}

function deps(over: Partial<CliDeps> = {}): CliDeps {
  return { startNode: fakeStarter().startNode, loadIdentity: () => ({ publicKeyHex: 'be'.repeat(32) }), handleSignals: false, version: '1.2.3', ...over }
}

async function dsn(argv: string[], env: NodeJS.ProcessEnv = {}, d: CliDeps = deps()): Promise<Result> {
  let out = ''
  let err = ''
  const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s), env }, d)
  return { code, out, err }
}

async function daemonFor(t: Test): Promise<{ socketPath: string; node: FakeNode; daemon: Daemon }> {
  const dir = tempDir(t)
  const socketPath = path.join(dir, 'dsn.sock')
  const starter = fakeStarter()
  const settings = loadRunSettings({ socket: socketPath }, { DSN_NETWORK_KEY: KEY, DSN_NODE_ID: 'kitchen', DSN_CREDENTIAL_DIR: dir })
  const daemon = await Daemon.start(settings, { startNode: starter.startNode, reloadSettings: () => settings, logger: new Logger(() => undefined), version: 't' })
  t.teardown(() => daemon.stop('test'))
  return { socketPath, node: starter.nodes[0], daemon }
}

t.test('help everywhere, exit 0; no command is a usage error', async (t) => {
  const top = await dsn(['--help'])
  t.equal(top.code, 0)
  for (const c of COMMANDS) t.match(top.out, new RegExp(`^  ${c.name} `, 'm'), `${c.name} listed`)
  t.match(top.out, /Exit status:\n {2}0 {2}success/)
  for (const c of COMMANDS) {
    const r = await dsn([c.name, '--help'])
    t.equal(r.code, 0, `${c.name} --help`)
    t.match(r.out, new RegExp(`^Usage: dsn ${c.name}`), `${c.name} usage`)
    t.match(r.out, /--socket PATH/)
    t.same(await dsn(['help', c.name]), r, `dsn help ${c.name}`)
  }
  t.match((await dsn(['run', '--help'])).out, /DSN_NETWORK_KEY_FILE/, 'run --help shows the environment table')
  const none = await dsn([])
  t.equal(none.code, 2)
  t.match(none.err, /^dsn: shared key-value state/)
  t.same(await dsn(['--version']), { code: 0, out: '1.2.3\n', err: '' })
})

t.test('usage errors exit 2 and point at --help', async (t) => {
  t.same(await dsn(['fly']), { code: 2, out: '', err: 'dsn: unknown command "fly" (commands: keygen, id, run, set, get, del, peers, status, watch) (see `dsn --help`)\n' })
  t.same(await dsn(['set', 'k']), { code: 2, out: '', err: 'dsn set: expects KEY VALUE, got "k" (see `dsn set --help`)\n' })
  t.same(await dsn(['get', 'a', 'b', 'c']), { code: 2, out: '', err: 'dsn get: expects [NODE [KEY]], got "a" "b" "c" (see `dsn get --help`)\n' })
  t.same(await dsn(['peers', '--all']), { code: 2, out: '', err: 'dsn peers: unknown option --all (see `dsn peers --help`)\n' })
  t.same(await dsn(['keygen', '--socket']), { code: 2, out: '', err: 'dsn keygen: option --socket needs a value (PATH) (see `dsn keygen --help`)\n' })
  t.same(await dsn(['--bogus', 'get']), { code: 2, out: '', err: 'dsn: unknown option --bogus (see `dsn --help`)\n' })
})

t.test('keygen', async (t) => {
  const r = await dsn(['keygen'])
  t.equal(r.code, 0)
  t.match(r.out, /^[0-9a-f]{64}\n$/)
  t.not((await dsn(['keygen'])).out, r.out, 'fresh each time')
  t.match(JSON.parse((await dsn(['keygen', '--json'])).out), { networkKey: /^[0-9a-f]{64}$/ })
})

t.test('set, get, del, peers, status against the daemon', async (t) => {
  const { socketPath, node } = await daemonFor(t)
  const s = ['--socket', socketPath]
  t.same(await dsn(['set', 'temperature', '21.5', ...s]), { code: 0, out: '', err: '' })
  t.equal(node.get('kitchen', 'temperature'), 21.5)
  await dsn(['set', 'config', '{"a":1}', ...s])
  await dsn(['set', 'name', 'hall light', ...s])
  await dsn(['set', 'version', '--string', '1.10', ...s])
  await dsn(['set', 'offset', '-2.5', ...s])
  t.same(node.state('kitchen'), { temperature: 21.5, config: { a: 1 }, name: 'hall light', version: '1.10', offset: -2.5 })
  t.same(await dsn(['--json', 'set', 'on', 'true', ...s]), { code: 0, out: '{"ok":true,"key":"on","value":true}\n', err: '' })

  t.same(await dsn(['get', '@', 'temperature', ...s]), { code: 0, out: '21.5\n', err: '' })
  t.same(await dsn(['get', 'kitchen', 'name', ...s]), { code: 0, out: 'hall light\n', err: '' }, 'strings bare')
  t.same(await dsn(['get', 'kitchen', 'name', '--json', ...s]), { code: 0, out: '"hall light"\n', err: '' })
  t.same(await dsn(['get', 'kitchen', 'config', ...s]), { code: 0, out: '{"a":1}\n', err: '' })
  node.remoteSet('hall', 'temperature', 19)
  t.same(await dsn(['get', 'hall', ...s]), { code: 0, out: 'temperature  19\n', err: '' })
  t.same(JSON.parse((await dsn(['get', '--json', ...s])).out).hall, { temperature: 19 })
  t.match((await dsn(['get', ...s])).out, /^hall {5}temperature {2}19\nkitchen {2}config {7}\{"a":1\}\n/)

  t.same(await dsn(['peers', ...s]), { code: 0, out: 'hall\nkitchen\n', err: '' })
  const peersJson = await dsn(['peers', '--json', ...s])
  t.equal(peersJson.code, 0)
  t.same(JSON.parse(peersJson.out), [
    { nodeId: 'hall', self: false, address: '10.0.0.2:40000', path: 'multicast', multicastOut: 1, multicastIn: 1, pathChangedMsAgo: 5000 },
    { nodeId: 'kitchen', self: true, address: '127.0.0.1:40000', path: null, multicastOut: null, multicastIn: null, pathChangedMsAgo: null },
  ], 'peers --json: every node, self included, with its path and measured delivery each way')
  const status = await dsn(['status', ...s])
  t.equal(status.code, 0)
  t.match(status.out, /^node +kitchen \(incarnation 1, seq 6, 6 keys\)$/m)
  t.match(status.out, /^ {2}hall +10\.0\.0\.2:40000 +1 keys +seq 3\/3 +heard 0\.1 s ago +path multicast \(multicast out 100%, in 100%, since 5\.0 s\)$/m)
  t.match(status.out, /^daemon +pid \d+, version t, log level info, socket /m)
  t.match(JSON.parse((await dsn(['status', '--json', ...s])).out), { nodeId: 'kitchen', peers: [{ nodeId: 'hall' }], daemon: { socket: socketPath } })

  t.same(await dsn(['del', 'name', '--json', ...s]), { code: 0, out: '{"ok":true,"key":"name","deleted":true}\n', err: '' })
  t.same(await dsn(['del', 'name', ...s]), { code: 0, out: '', err: '' }, 'deleting an absent key is fine')
  t.same(await dsn(['get', '@', 'name'], { DSN_SOCKET: socketPath }), { code: 6, out: '', err: 'dsn get: node "kitchen" has no key "name"\n' }, 'DSN_SOCKET; exit 6')
  t.same(await dsn(['get', 'nobody', ...s]), { code: 6, out: '', err: 'dsn get: no node "nobody" is known (see dsn peers)\n' })
  t.same(await dsn(['set', 'big', 'x'.repeat(2000), ...s]), { code: 1, out: '', err: 'dsn set: value is over maxValueBytes (1000)\n' }, 'the node\'s refusal, exit 1')
  t.same(await dsn(['set', 'b', '{"$bytes":"%%"}', ...s]), { code: 1, out: '', err: 'dsn set: $bytes must be a base64 string (got "%%")\n' })
})

t.test('watch prints one JSON line per event and exits 3 when the daemon stops', async (t) => {
  const { socketPath, node, daemon } = await daemonFor(t)
  let out = ''
  let err = ''
  const io = { out: (x: string) => (out += x), err: (x: string) => (err += x), env: {} }
  const all = main(['watch', '--socket', socketPath], io, deps())
  let filtered = ''
  const byKey = main(['watch', '--socket', socketPath, '--key', 'temperature'], { ...io, out: (x) => (filtered += x) }, deps())
  await new Promise((r) => setTimeout(r, 100))
  node.set('temperature', 21.5)
  node.set('humidity', 40)
  node.peerUp('hall')
  node.peerDown('hall')
  await new Promise((r) => setTimeout(r, 50))
  await daemon.stop('test')
  t.equal(await all, 3)
  t.equal(await byKey, 3)
  t.same(out.trim().split('\n').map((l) => JSON.parse(l)), [
    { event: 'update', nodeId: 'kitchen', key: 'temperature', value: 21.5, deleted: false },
    { event: 'update', nodeId: 'kitchen', key: 'humidity', value: 40, deleted: false },
    { event: 'peer-up', nodeId: 'hall', incarnation: 7, address: '10.0.0.2:40000' },
    { event: 'peer-down', nodeId: 'hall', incarnation: 7, reason: 'goodbye' },
  ])
  t.equal(filtered, '{"event":"update","nodeId":"kitchen","key":"temperature","value":21.5,"deleted":false}\n')
  t.equal(err, `dsn watch: the daemon on ${socketPath} stopped\n`.repeat(2))
})

t.test('no daemon running: exit 3 and what to do', async (t) => {
  const socketPath = path.join(tempDir(t), 'none.sock')
  for (const argv of [['set', 'k', '1'], ['get'], ['del', 'k'], ['peers'], ['status'], ['watch']]) {
    const r = await dsn([...argv, '--socket', socketPath])
    t.same(r, {
      code: 3,
      out: '',
      err: `dsn ${argv[0]}: no dsn daemon is running on ${socketPath} (ENOENT): start one with \`dsn run\` (or systemctl start dsn), or point --socket / DSN_SOCKET at the right one\n`,
    }, argv[0])
  }
})

t.test('id: from the daemon, else from the credential dir', async (t) => {
  const { socketPath } = await daemonFor(t)
  t.match(JSON.parse((await dsn(['id', '--json', '--socket', socketPath])).out), { nodeId: 'kitchen', publicKey: 'ab'.repeat(32), source: `daemon on ${socketPath}` })
  const dir = tempDir(t)
  const seen: string[] = []
  const r = await dsn(['id', '--socket', path.join(dir, 'none.sock')], { DSN_NODE_ID: 'porch', DSN_CREDENTIAL_DIR: dir }, deps({ loadIdentity: (d) => (seen.push(d), { publicKeyHex: 'be'.repeat(32) }) }))
  t.equal(r.code, 0)
  t.same(seen, [dir])
  t.match(r.out, new RegExp(`^nodeId +porch\npublicKey +${'be'.repeat(32)}\nfrom +${dir}\n$`))
  const missing = await dsn(['id', '--socket', path.join(dir, 'none.sock')], { DSN_NODE_ID: 'porch' }, deps({ loadIdentity: () => { throw new Error('this build of dsn cannot read identities offline') } }))
  t.same(missing, { code: 1, out: '', err: 'dsn id: this build of dsn cannot read identities offline\n' })
})

t.test('run: every start error has its message and exit status, and never shows the key', async (t) => {
  const dir = tempDir(t)
  const socketPath = path.join(dir, 'dsn.sock')
  const base = { DSN_SOCKET: socketPath, DSN_CREDENTIAL_DIR: dir, DSN_NODE_ID: 'kitchen' }
  const logLine = (r: Result) => JSON.parse(r.out.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>

  const noKey = await dsn(['run'], base)
  t.equal(noKey.code, 4)
  t.match(noKey.err, /^dsn run: no network key: set DSN_NETWORK_KEY or DSN_NETWORK_KEY_FILE/)
  t.match(logLine(noKey), { level: 'error', msg: 'start-failed', code: 'DSN_BAD_CONFIG', exitCode: 4 })

  const nearMiss = KEY.slice(0, 60) + 'wxyz'
  const bad = await dsn(['run'], { ...base, DSN_NETWORK_KEY: nearMiss })
  t.equal(bad.code, 4)
  t.equal(bad.err, 'dsn run: config.networkKey: required: 64 hex characters (256 bits); make one with `dsn keygen`\n')
  t.notMatch(bad.out + bad.err, KEY.slice(0, 20), 'a malformed key is not echoed')

  const shortFile = path.join(dir, 'short.key')
  writeFileSync(shortFile, 'abc\n')
  t.equal((await dsn(['run'], { ...base, DSN_NETWORK_KEY_FILE: shortFile })).code, 4, 'a malformed key file')
  t.equal((await dsn(['run'], { ...base, DSN_NETWORK_KEY_FILE: path.join(dir, 'absent') })).err, `dsn run: DSN_NETWORK_KEY_FILE ${path.join(dir, 'absent')}: cannot read the network key (ENOENT)\n`)

  const badPort = await dsn(['run'], { ...base, DSN_NETWORK_KEY: KEY, DSN_PORT: '70000' })
  t.same([badPort.code, badPort.err], [4, 'dsn run: config.port: must be an integer from 1 to 65535 (got 70000)\n'])
  const cfg = path.join(dir, 'dsn.json')
  writeFileSync(cfg, '{"networkKey": "nope", }')
  const badFile = await dsn(['run', '--config', cfg], base)
  t.same([badFile.code, badFile.err.startsWith(`dsn run: config file ${cfg}: not valid JSON`)], [4, true])

  const portTaken = await dsn(['run'], { ...base, DSN_NETWORK_KEY: KEY }, deps({ startNode: async () => { throw new DsnError('DSN_PORT_IN_USE', 'UDP port 47474 is in use by another process') } }))
  t.same([portTaken.code, portTaken.err], [5, 'dsn run: UDP port 47474 is in use by another process\n'])
  t.match(logLine(portTaken), { msg: 'start-failed', code: 'DSN_PORT_IN_USE', exitCode: 5 })

  const noIface = await dsn(['run'], { ...base, DSN_NETWORK_KEY: KEY }, deps({ startNode: async () => { throw new DsnError('DSN_NO_INTERFACE', 'config.interface: eth9 does not exist') } }))
  t.equal(noIface.code, 4)

  const crash = await dsn(['run'], { ...base, DSN_NETWORK_KEY: KEY }, deps({ startNode: async () => { throw new Error('this build of dsn has no mesh node') } }))
  t.same([crash.code, crash.err], [1, 'dsn run: this build of dsn has no mesh node\n'])

  const { socketPath: busy } = await daemonFor(t)
  const taken = await dsn(['run', '--socket', busy], { ...base, DSN_NETWORK_KEY: KEY })
  t.same([taken.code, taken.err], [5, `dsn run: another dsn daemon is answering on ${busy}; stop it first, or give this one its own --socket\n`])
  for (const r of [noKey, bad, badPort, badFile, portTaken, taken]) t.notMatch(r.out + r.err, KEY)
})
