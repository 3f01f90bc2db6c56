// `dsn set --stdin` in-process against a daemon on a fake node, the line parser on its own, and
// the empty-key message of `dsn set "" 1`. No network socket is opened.
import t, { type Test } from 'tap'
import * as path from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import type { CliDeps } from '../../src/cli/context'
import { main } from '../../src/cli/main'
import { parseSetLine } from '../../src/cli/set-lines'
import { Daemon } from '../../src/daemon/daemon'
import { Logger } from '../../src/daemon/logger'
import { loadRunSettings } from '../../src/daemon/run-config'
import { run } from '../lab/run'
import { fakeStarter, tempDir, type FakeNode } from '../daemon/fakes'

const KEY = '0f'.repeat(32)

const deps = (starter = fakeStarter()): CliDeps => ({ startNode: starter.startNode, loadIdentity: () => ({ publicKeyHex: 'be'.repeat(32) }), handleSignals: false, version: 't' })

async function dsn(argv: string[], stdin?: NodeJS.ReadableStream): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s), env: {}, stdin }, deps())
  return { code, out, err }
}

async function daemonAt(t: Test, socketPath: string, dir: string): Promise<{ node: FakeNode; daemon: Daemon }> {
  const starter = fakeStarter()
  const settings = loadRunSettings({ socket: socketPath }, { DSN_NETWORK_KEY: KEY, DSN_NODE_ID: 'kitchen', DSN_CREDENTIAL_DIR: dir })
  const daemon = await Daemon.start(settings, { startNode: starter.startNode, reloadSettings: () => settings, logger: new Logger(() => undefined), version: 't' })
  t.teardown(() => daemon.stop('test'))
  return { node: starter.nodes[0], daemon }
}

t.test('the line parser', async (t) => {
  t.same(parseSetLine('temperature 21.5', false), { ok: true, writes: [{ key: 'temperature', value: 21.5 }] })
  t.same(parseSetLine('name\thall light\r', false), { ok: true, writes: [{ key: 'name', value: 'hall light' }] }, 'tab, CRLF, spaces kept in the value')
  t.same(parseSetLine('version 1.10', true), { ok: true, writes: [{ key: 'version', value: '1.10' }] }, '--string')
  t.same(parseSetLine('  ', false), { ok: true, writes: [] }, 'blank line: no write')
  t.same(parseSetLine('{"a":1,"b":{"$bytes":"AAE="}}', false), { ok: true, writes: [{ key: 'a', value: 1 }, { key: 'b', value: { $bytes: 'AAE=' } }] })
  t.same(parseSetLine('lonely', false), { ok: false, error: 'expected "KEY VALUE" or a JSON object, got "lonely" (no value after the key)' })
  t.same(parseSetLine('{"a":', false), { ok: false, error: 'a line starting with "{" must be a JSON object of keys and values, got "{\\"a\\":"' })
  t.same(parseSetLine('{"":1}', false), { ok: false, error: 'a key is empty ("" in the object): keys are 1 or more characters' })
  t.same(parseSetLine('b {"$bytes":"%%"}', false), { ok: false, error: '$bytes must be a base64 string (got "%%")' })
})

t.test('dsn set --stdin: every line on one connection, bad lines named and skipped', async (t) => {
  const dir = tempDir(t)
  const socketPath = path.join(dir, 'dsn.sock')
  const { node } = await daemonAt(t, socketPath, dir)
  const input = ['temperature 21.5', '', 'name hall light', 'lonely', '{"humidity":40,"fan":true}', 'big ' + 'x'.repeat(2000), 'temperature 22'].join('\n') + '\n'
  const r = await dsn(['set', '--stdin', '--json', '--socket', socketPath], Readable.from([input]))
  t.equal(r.code, 1, 'exit 1: some lines failed')
  t.equal(r.err, [
    'dsn set: line 4: expected "KEY VALUE" or a JSON object, got "lonely" (no value after the key)',
    'dsn set: line 6: key "big": value is over maxValueBytes (1000) (DSN_VALUE_TOO_LARGE)',
    '',
  ].join('\n'))
  t.same(JSON.parse(r.out), { ok: false, lines: 7, writes: 5, failed: 2 })
  t.same(node.state('kitchen'), { temperature: 22, name: 'hall light', humidity: 40, fan: true })

  const clean = await dsn(['set', '--stdin', '--socket', socketPath], Readable.from(['a 1\nb 2']))
  t.same(clean, { code: 0, out: '', err: '' }, 'a last line without a newline counts')
  t.equal(node.get('kitchen', 'b'), 2)
})

t.test('dsn set --stdin waits for a restarting daemon; fails at once when none runs', async (t) => {
  const dir = tempDir(t)
  const socketPath = path.join(dir, 'dsn.sock')
  const none = await dsn(['set', '--stdin', '--socket', socketPath], Readable.from(['a 1\n']))
  t.equal(none.code, 3, 'no daemon: exit 3')
  t.match(none.err, /^dsn set: no dsn daemon is running on /)

  const first = await daemonAt(t, socketPath, dir)
  const input = new PassThrough()
  const running = dsn(['set', '--stdin', '--socket', socketPath], input)
  input.write('a 1\n')
  await waitFor(() => first.node.get('kitchen', 'a') === 1)
  await first.daemon.stop('restart')
  const second = daemonAt(t, socketPath, dir)
  input.end('b 2\n')
  const { node } = await second
  const r = await running
  t.same(r, { code: 0, out: '', err: '' }, 'the stream survived the restart')
  t.equal(node.get('kitchen', 'b'), 2, 'the line written across the restart reached the new daemon')
})

t.test('usage: --stdin takes no arguments; an empty KEY is said plainly', async (t) => {
  t.same(await dsn(['set', '--stdin', 'k', 'v']), { code: 2, out: '', err: 'dsn set: --stdin reads KEY VALUE lines from standard input: give no arguments (got "k" "v") (see `dsn set --help`)\n' })
  t.same(await dsn(['set', 'k']), { code: 2, out: '', err: 'dsn set: expects KEY VALUE, got "k" (see `dsn set --help`)\n' })
  t.same(await dsn(['set', '', '1']), { code: 2, out: '', err: 'dsn set: KEY is empty: a key is a name of one or more characters, e.g. temperature (see `dsn set --help`)\n' })
  t.same(await dsn(['del', '']), { code: 2, out: '', err: 'dsn del: KEY is empty: a key is a name of one or more characters, e.g. temperature (see `dsn del --help`)\n' })
})

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10))
}

t.test("the README's no-Node one-liner: printf ... | nc -NU SOCKET (Debian's netcat-openbsd)", async (t) => {
  const dir = tempDir(t)
  const socketPath = path.join(dir, 'dsn.sock')
  const { node } = await daemonAt(t, socketPath, dir)
  const sh = (script: string) => run('sh', ['-c', script], { env: { PATH: process.env.PATH, SOCK: socketPath }, timeoutMs: 10_000 })
  const set = await sh(`printf '{"op":"set","key":"temperature","value":%s}\\n' "21.5" | nc -NU "$SOCK"`)
  t.same([set.code, set.stdout, set.stderr], [0, '{"ok":true,"result":null}\n', ''])
  t.equal(node.get('kitchen', 'temperature'), 21.5)
  const get = await sh(`printf '{"op":"get","node":"@","key":"temperature"}\\n' | nc -NU "$SOCK"`)
  t.equal(get.stdout, '{"ok":true,"result":21.5}\n')
  const refused = await sh(`printf '{"op":"set","key":"","value":1}\\n' | nc -NU "$SOCK"`)
  t.match(JSON.parse(refused.stdout), { ok: false, error: { code: 'DSN_BAD_KEY' } }, 'errors come back as JSON')
})
