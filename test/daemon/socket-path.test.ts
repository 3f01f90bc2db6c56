import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { claimSocketPath, DEFAULT_SOCKET, SocketPathError, socketAnswers, socketPathFrom } from '../../src/daemon/socket-path'
import { tempDir } from './fakes'

/** A socket left behind by a process killed with SIGKILL: the file stays, nobody answers. */
async function staleSocket(socketPath: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()))
  child.kill('SIGKILL')
  await new Promise((resolve) => child.once('exit', resolve))
}

t.test('socket path: flag, then DSN_SOCKET, then the default', async (t) => {
  t.equal(socketPathFrom('/a.sock', { DSN_SOCKET: '/b.sock' }), '/a.sock')
  t.equal(socketPathFrom(undefined, { DSN_SOCKET: '/b.sock' }), '/b.sock')
  t.equal(socketPathFrom(undefined, { DSN_SOCKET: ' ' }), DEFAULT_SOCKET)
  t.equal(socketPathFrom(undefined, {}), '/run/dsn/dsn.sock')
  t.equal(socketPathFrom('rel.sock', {}), path.resolve('rel.sock'), 'made absolute')
})

t.test('a stale socket from a crash is removed', async (t) => {
  const socketPath = path.join(tempDir(t), 'dsn.sock')
  await staleSocket(socketPath)
  t.ok(statSync(socketPath).isSocket(), 'the crash left the socket file')
  t.equal(await socketAnswers(socketPath), false)
  t.equal(await claimSocketPath(socketPath), 'stale-removed')
  t.notOk(existsSync(socketPath))
})

t.test('a live daemon is refused, its socket kept', async (t) => {
  const socketPath = path.join(tempDir(t), 'dsn.sock')
  const server = net.createServer((s) => s.end())
  await new Promise<void>((r) => server.listen(socketPath, r))
  t.teardown(() => server.close())
  await t.rejects(claimSocketPath(socketPath), new SocketPathError('in-use', `another dsn daemon is answering on ${socketPath}; stop it first, or give this one its own --socket`))
  t.ok(existsSync(socketPath))
})

t.test('a path that is not a socket is never replaced', async (t) => {
  const socketPath = path.join(tempDir(t), 'dsn.sock')
  writeFileSync(socketPath, 'precious')
  await t.rejects(claimSocketPath(socketPath), { code: 'unusable', message: `${socketPath} exists and is not a socket; refusing to replace it` })
  t.ok(existsSync(socketPath))
})

t.test('the directory is made 0750; paths too long or unwritable are refused', async (t) => {
  const dir = tempDir(t)
  const socketPath = path.join(dir, 'run', 'dsn', 'dsn.sock')
  t.equal(await claimSocketPath(socketPath), 'free')
  t.equal(statSync(path.dirname(socketPath)).mode & 0o777, 0o750)
  await t.rejects(claimSocketPath(path.join(dir, 'x'.repeat(120), 'dsn.sock')), { code: 'unusable', message: /is longer than 107 bytes; choose a shorter --socket/ })
  mkdirSync(path.join(dir, 'file-parent'))
  writeFileSync(path.join(dir, 'file-parent', 'f'), '')
  await t.rejects(claimSocketPath(path.join(dir, 'file-parent', 'f', 'dsn.sock')), { code: 'unusable', message: /cannot create the socket directory .*: (ENOTDIR|EEXIST); choose another with --socket or DSN_SOCKET/ })
})
