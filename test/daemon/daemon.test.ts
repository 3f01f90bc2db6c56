// The daemon in-process on a fake node (no network socket): logs, reload, stop, cleanup.
import t, { type Test } from 'tap'
import { existsSync, statSync, writeFileSync } from 'node:fs'
import * as path from 'node:path'
import { ControlClient } from '../../src/daemon/control-client'
import { changedFields, Daemon } from '../../src/daemon/daemon'
import { Logger } from '../../src/daemon/logger'
import { loadRunSettings } from '../../src/daemon/run-config'
import { DsnError } from '../../src/errors'
import { fakeStarter, tempDir } from './fakes'

const KEY = 'e5'.repeat(32)

function harness(t: Test, fileConfig: Record<string, unknown> = {}) {
  const dir = tempDir(t)
  const configPath = path.join(dir, 'dsn.json')
  const socketPath = path.join(dir, 'dsn.sock')
  const write = (c: Record<string, unknown>) => writeFileSync(configPath, JSON.stringify({ nodeId: 'kitchen', networkKeyFile: 'key', credentialDir: dir, ...c }))
  writeFileSync(path.join(dir, 'key'), KEY)
  write(fileConfig)
  const lines: string[] = []
  const logger = new Logger((l) => lines.push(l), 'info')
  const env = { DSN_SOCKET: socketPath }
  const load = () => loadRunSettings({ config: configPath }, env)
  const starter = fakeStarter()
  const logs = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  const start = async () => {
    const settings = load()
    logger.level = settings.logLevel
    return Daemon.start(settings, { startNode: starter.startNode, reloadSettings: load, logger, version: '9.9.9' })
  }
  return { dir, socketPath, write, lines, logs, start, starter, logger }
}

t.test('start, events, stop: JSON-line logs without the key', async (t) => {
  const h = harness(t)
  const daemon = await h.start()
  const node = h.starter.nodes[0]
  t.equal(node.options.networkKey, KEY, 'the node got the key from the key file')
  t.ok(statSync(h.socketPath).isSocket())
  node.peerUp('hall')
  node.remoteSet('hall', 't', 1)
  node.peerDown('hall', 'timeout')
  node.emit('error', new Error('EHOSTUNREACH on send'))
  await daemon.stop('test')
  t.same(await daemon.done, { reason: 'test', error: undefined })
  t.equal(node.stopCalls, 1, 'node.stop() said goodbye')
  t.notOk(existsSync(h.socketPath), 'the socket is removed')
  const logs = h.logs()
  t.same(logs.map((l) => l.msg), ['starting', 'started', 'first-heartbeat', 'peer-up', 'peer-down', 'node-error', 'stopping', 'stopped'], 'update is a debug line')
  for (const l of logs) t.match(l, { ts: /^\d{4}-\d\d-\d\dT/, level: /^(info|warn)$/ })
  t.match(logs[0], { level: 'info', nodeId: 'kitchen', cluster: 'default', socket: h.socketPath, version: '9.9.9', pid: process.pid })
  t.match(logs[1], { nodeId: 'kitchen', publicKey: 'ab'.repeat(32), startupMs: Number })
  t.match(logs[3], { msg: 'peer-up', nodeId: 'hall', address: '10.0.0.2:40000' })
  t.match(logs[4], { msg: 'peer-down', nodeId: 'hall', reason: 'timeout' })
  t.match(logs[5], { level: 'warn', error: { message: 'EHOSTUNREACH on send' } })
  t.notMatch(h.lines.join(''), KEY, 'the key is never logged')
  t.notMatch(h.lines.join(''), KEY.slice(0, 16))
  await daemon.stop('again')
  t.equal(node.stopCalls, 1, 'stop is idempotent')
})

t.test('first-heartbeat waits for the node to send one', async (t) => {
  const h = harness(t)
  const starter = h.starter.startNode
  h.starter.startNode = async (o) => {
    const node = await starter(o)
    node.heartbeats = 0
    setTimeout(() => (node.heartbeats = 1), 30)
    return node
  }
  const settings = loadRunSettings({ config: path.join(h.dir, 'dsn.json') }, { DSN_SOCKET: h.socketPath })
  const daemon = await Daemon.start(settings, { startNode: h.starter.startNode, reloadSettings: () => settings, logger: new Logger((l) => h.lines.push(l)), version: 'x' })
  t.notOk(h.logs().some((l) => l.msg === 'first-heartbeat'))
  await new Promise((r) => setTimeout(r, 80))
  t.match(h.logs().find((l) => l.msg === 'first-heartbeat'), { sinceProcessStartMs: Number })
  await daemon.stop('test')
})

t.test('reload (SIGHUP) applies the log level and names what needs a restart', async (t) => {
  const h = harness(t)
  const daemon = await h.start()
  h.write({ logLevel: 'debug', port: 4000 })
  t.same(daemon.reload(), { applied: ['logLevel'], needsRestart: ['port'] })
  t.equal(h.logger.level, 'debug')
  t.match(h.logs().at(-1), { msg: 'reloaded', reloadable: ['logLevel'], applied: ['logLevel'], needsRestart: ['port'], logLevel: 'debug' })
  h.starter.nodes[0].set('k', 1)
  t.match(h.logs().at(-1), { level: 'debug', msg: 'update', nodeId: 'kitchen', key: 'k', deleted: false })
  t.notOk('value' in (h.logs().at(-1) ?? {}), 'values are not logged')
  writeFileSync(path.join(h.dir, 'dsn.json'), '{broken')
  t.equal(daemon.reload(), undefined)
  t.match(h.logs().at(-1), { level: 'error', msg: 'reload-failed', error: { code: 'DSN_BAD_CONFIG', message: /not valid JSON/ }, kept: 'the running settings' })
  t.equal(h.logger.level, 'debug', 'a failed reload keeps the running settings')
  await daemon.stop('test')
})

t.test('changedFields names keys without showing them', async (t) => {
  const a = loadRunSettings({}, { DSN_NETWORK_KEY: KEY }).config
  const b = loadRunSettings({}, { DSN_NETWORK_KEY: 'f6'.repeat(32), DSN_PORT: '1234' }).config
  t.same(changedFields(a, b), ['networkKey', 'port'])
})

t.test('a node that fails to start leaves no socket; a second daemon on the same socket is refused', async (t) => {
  const h = harness(t)
  const realStart = h.starter.startNode
  h.starter.startNode = async () => {
    throw new DsnError('DSN_PORT_IN_USE', 'unicast port 4000 is in use')
  }
  await t.rejects(h.start(), { code: 'DSN_PORT_IN_USE' })
  t.notOk(existsSync(h.socketPath))
  h.starter.startNode = realStart
  const first = await h.start()
  await t.rejects(h.start(), { code: 'in-use', message: /another dsn daemon is answering on/ })
  t.equal(h.starter.nodes.length, 1, 'the second daemon never started a node')
  const client = await ControlClient.connect(h.socketPath)
  t.same(await client.request({ op: 'peers' }), ['kitchen'], 'the first daemon still serves')
  client.close()
  await first.stop('test')
})
