// `dsn run` as a process on a fake node (no network socket): SIGTERM/SIGINT stop it cleanly,
// SIGHUP reloads, a crash or a SIGKILL never leaves a socket that blocks the next start.
import t, { type Test } from 'tap'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync, statSync, writeFileSync } from 'node:fs'
import * as path from 'node:path'
import { tempDir } from './fakes'
import { socketAnswers } from '../../src/daemon/socket-path'

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

t.test('two daemons started at the same instant on one socket: one serves, the other exits 5 with the message (issue 14)', async (t) => {
  const rounds = 6
  for (let round = 0; round < rounds; round++) {
    const { socketPath, env } = setup(t)
    const pair = [start(t, [], env), start(t, [], env)]
    const first = await Promise.race(pair.map((p, i) => p.exit.then(() => i)))
    const loser = pair[first]
    const winner = pair[1 - first]
    t.equal(await loser.exit, 5, `round ${round}: the loser exits 5`)
    t.match(loser.stderr(), new RegExp(`another dsn daemon is answering on ${socketPath}`), `round ${round}: with the clear message`)
    t.notMatch(loser.stderr(), /EADDRINUSE/, `round ${round}: no raw EADDRINUSE`)
    await winner.waitFor('started')
    t.ok(await socketAnswers(socketPath), `round ${round}: the winner answers on the socket`)
    winner.child.kill('SIGTERM')
    t.equal(await winner.exit, 0)
  }
})

t.test('a closed stdout does not stop the daemon: it logs to stderr and keeps serving (issue 14)', async (t) => {
  const { socketPath, env } = setup(t)
  const p = start(t, [], env)
  await p.waitFor('started')
  p.child.stdout.destroy() // what `dsn run | head -c 300` does once head has its bytes
  p.child.kill('SIGHUP') // makes the daemon log a line, which now meets a closed pipe
  await until(() => /stdout-closed/.test(p.stderr()))
  t.match(p.stderr(), /"msg":"stdout-closed"/, 'says so on stderr')
  t.ok(await socketAnswers(socketPath), 'still serving on its socket')
  p.child.kill('SIGTERM')
  t.equal(await p.exit, 0, 'SIGTERM still ends it cleanly')
  t.match(p.stderr(), /"msg":"stopped"/, 'with its goodbye logged to stderr')
  t.notOk(existsSync(socketPath), 'and the socket removed')
})

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 50))
}
