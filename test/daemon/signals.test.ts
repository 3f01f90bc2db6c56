// `dsn run` as a process on a fake node (no network socket): SIGTERM/SIGINT stop it cleanly,
// SIGHUP reloads, a crash or a SIGKILL never leaves a socket that blocks the next start.
import t, { type Test } from 'tap'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync, statSync, writeFileSync } from 'node:fs'
import * as path from 'node:path'
import { tempDir } from './fakes'

const FIXTURE = path.join(__dirname, 'fixtures', 'fake-daemon.ts')
const KEY = '7a'.repeat(32)

interface Proc {
  child: ChildProcessWithoutNullStreams
  logs: Record<string, unknown>[]
  stderr: () => string
  waitFor(msg: string): Promise<Record<string, unknown>>
  exit: Promise<number | null>
}

function start(t: Test, args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, 'run', ...args], { env: { ...process.env, DSN_FAKE_DAEMON: '1', ...env } })
  t.teardown(() => void child.kill('SIGKILL'))
  const logs: Record<string, unknown>[] = []
  let err = ''
  let buffer = ''
  const waiters: (() => void)[] = []
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk
    const lines = buffer.split('\n')
    buffer = lines.pop() ?? ''
    for (const line of lines) logs.push(JSON.parse(line) as Record<string, unknown>)
    waiters.splice(0).forEach((w) => w())
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk))
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const waitFor = (msg: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${msg}" log line within 20 s; got ${JSON.stringify(logs)} ${err}`)), 20_000)
      const check = () => {
        const found = logs.find((l) => l.msg === msg)
        if (found) {
          clearTimeout(timer)
          resolve(found)
        } else waiters.push(check)
      }
      check()
    })
  return { child, logs, stderr: () => err, waitFor, exit }
}

function setup(t: Test) {
  const dir = tempDir(t)
  const socketPath = path.join(dir, 'dsn.sock')
  const configPath = path.join(dir, 'dsn.json')
  writeFileSync(configPath, JSON.stringify({ nodeId: 'kitchen', credentialDir: dir }))
  return { dir, socketPath, configPath, env: { DSN_NETWORK_KEY: KEY, DSN_SOCKET: socketPath, DSN_CONFIG: configPath } }
}

t.test('SIGHUP reloads the log level; SIGTERM stops with goodbye and exit 0', async (t) => {
  const { socketPath, configPath, env } = setup(t)
  const p = start(t, [], env)
  await p.waitFor('started')
  t.equal(statSync(socketPath).mode & 0o777, 0o660)
  writeFileSync(configPath, JSON.stringify({ nodeId: 'kitchen', logLevel: 'debug', port: 4001 }))
  p.child.kill('SIGHUP')
  t.match(await p.waitFor('reloaded'), { level: 'info', applied: ['logLevel'], needsRestart: ['credentialDir', 'persistPath', 'port'] })
  p.child.kill('SIGTERM')
  t.equal(await p.exit, 0)
  t.match(p.logs.find((l) => l.msg === 'stopping'), { reason: 'SIGTERM' })
  t.ok(p.logs.find((l) => l.msg === 'stopped'))
  t.notOk(existsSync(socketPath), 'the socket is gone')
  t.notMatch(JSON.stringify(p.logs) + p.stderr(), KEY, 'the key appears nowhere')
})

t.test('SIGINT stops too', async (t) => {
  const { env } = setup(t)
  const p = start(t, [], env)
  await p.waitFor('started')
  p.child.kill('SIGINT')
  t.equal(await p.exit, 0)
})

t.test('after a SIGKILL the next start removes the stale socket', async (t) => {
  const { socketPath, env } = setup(t)
  const first = start(t, [], env)
  await first.waitFor('started')
  first.child.kill('SIGKILL')
  await first.exit
  t.ok(existsSync(socketPath), 'SIGKILL left the socket')
  const second = start(t, [], env)
  t.match(await second.waitFor('stale-socket-removed'), { level: 'warn', socket: socketPath })
  await second.waitFor('started')
  const third = start(t, [], env)
  t.equal(await third.exit, 5, 'a third daemon on the live socket is refused')
  t.match(third.stderr(), /another dsn daemon is answering on/)
  second.child.kill('SIGTERM')
  t.equal(await second.exit, 0)
})

t.test('a crash removes the socket and exits 1', async (t) => {
  const { socketPath, env } = setup(t)
  const p = start(t, [], { ...env, DSN_FAKE_CRASH_AFTER_MS: '300' })
  await p.waitFor('started')
  t.equal(await p.exit, 1)
  t.match(p.logs.find((l) => l.msg === 'crash'), { level: 'error', error: { message: 'simulated crash' } })
  t.notOk(existsSync(socketPath))
})
