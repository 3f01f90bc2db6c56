// The control protocol against a fake node on a Unix socket in a temp dir: no network socket.
import t, { type Test } from 'tap'
import { statSync } from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { ControlClient, DaemonError } from '../../src/daemon/control-client'
import { ControlServer } from '../../src/daemon/control-server'
import { Logger } from '../../src/daemon/logger'
import type { WatchEvent } from '../../src/daemon/protocol'
import { FakeNode, tempDir } from './fakes'

async function setup(t: Test) {
  const dir = tempDir(t)
  const socketPath = path.join(dir, 'dsn.sock')
  const node = new FakeNode({ nodeId: 'kitchen', networkKey: 'a'.repeat(64) })
  const logs: string[] = []
  const server = await ControlServer.listen({ node, socketPath, logger: new Logger((l) => logs.push(l), 'debug'), daemonInfo: () => ({ pid: 1, version: 'test' }), maxLineChars: 4096 })
  const client = await ControlClient.connect(socketPath)
  t.teardown(async () => {
    client.close()
    await server.close()
  })
  return { node, server, client, socketPath, logs }
}

/** Raw lines: what another language's client would send and see. */
function rawExchange(socketPath: string, text: string, lines: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath)
    let buffer = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      buffer += chunk
      const got = buffer.split('\n').filter((l) => l !== '')
      if (got.length >= lines) {
        socket.destroy()
        resolve(got)
      }
    })
    socket.on('error', reject)
    socket.write(text)
  })
}

t.test('the socket file keeps other users out', async (t) => {
  const { socketPath } = await setup(t)
  const mode = statSync(socketPath).mode & 0o777
  t.equal(mode, 0o660, 'mode 0660')
  t.ok(statSync(socketPath).isSocket())
})

t.test('set, get, del, peers, status, ping', async (t) => {
  const { node, client } = await setup(t)
  t.equal(await client.request({ op: 'set', key: 'temperature', value: 21.5 }), null)
  t.equal(node.get('kitchen', 'temperature'), 21.5)
  await client.request({ op: 'set', key: 'blob', value: { $bytes: 'AAEC' } })
  t.same([...(node.get('kitchen', 'blob') as Uint8Array)], [0, 1, 2], 'bytes arrive as bytes')
  t.same(await client.request({ op: 'get', key: 'blob' }), { $bytes: 'AAEC' }, 'and leave as {"$bytes"}')
  t.equal(await client.request({ op: 'get', node: '@', key: 'temperature' }), 21.5, '"@" is this node')
  t.equal(await client.request({ op: 'get', key: 'temperature' }), 21.5, 'no node is this node')
  node.remoteSet('hall', 'temperature', 19)
  t.equal(await client.request({ op: 'get', node: 'hall', key: 'temperature' }), 19)
  t.same(await client.request({ op: 'get', node: 'hall' }), { temperature: 19 })
  t.same(await client.request({ op: 'get' }), { hall: { temperature: 19 }, kitchen: { temperature: 21.5, blob: { $bytes: 'AAEC' } } })
  t.same(await client.request({ op: 'peers' }), ['hall', 'kitchen'])
  t.equal(await client.request({ op: 'del', key: 'temperature' }), true)
  t.equal(await client.request({ op: 'del', key: 'temperature' }), false, 'deleting again is not an error')
  const status = (await client.request({ op: 'status' })) as Record<string, unknown>
  t.match(status, { nodeId: 'kitchen', cluster: 'default', counters: { heartbeats: 1 }, daemon: { pid: 1, version: 'test' } })
  t.same(await client.request({ op: 'ping' }), { nodeId: 'kitchen', publicKey: 'ab'.repeat(32) })
})

t.test('errors carry a stable code', async (t) => {
  const { client } = await setup(t)
  await t.rejects(client.request({ op: 'get', node: 'nobody', key: 'x' }), new DaemonError({ code: 'DSN_NOT_FOUND', message: 'no node "nobody" is known (see dsn peers)' }))
  await t.rejects(client.request({ op: 'get', node: 'nobody' }), { code: 'DSN_NOT_FOUND' })
  await t.rejects(client.request({ op: 'get', key: 'absent' }), { code: 'DSN_NOT_FOUND', message: 'node "kitchen" has no key "absent"' })
  await t.rejects(client.request({ op: 'set', key: '', value: 1 }), { code: 'DSN_BAD_KEY' }, 'the node\'s DsnError passes through')
  await t.rejects(client.request({ op: 'set', key: 'big', value: 'x'.repeat(2000) }), { code: 'DSN_VALUE_TOO_LARGE' })
  await t.rejects(client.request({ op: 'set', key: 'b', value: { $bytes: '!!' } }), { code: 'DSN_BAD_VALUE' })
  t.same(await client.request({ op: 'ping' }), { nodeId: 'kitchen', publicKey: 'ab'.repeat(32) }, 'the connection survives errors')
})

t.test('malformed requests, answered in order with their id', async (t) => {
  const { socketPath } = await setup(t)
  const lines = await rawExchange(socketPath, 'not json\n[1]\n{"op":"fly","id":7}\n{"op":"set","key":"k","id":"a"}\n{"op":"get","key":5}\n{"op":"ping","id":8}\n', 6)
  const replies = lines.map((l) => JSON.parse(l))
  t.same(replies[0], { ok: false, error: { code: 'DSN_BAD_REQUEST', message: 'not valid JSON' } })
  t.same(replies[1], { ok: false, error: { code: 'DSN_BAD_REQUEST', message: 'a request is a JSON object' } })
  t.same(replies[2], { id: 7, ok: false, error: { code: 'DSN_BAD_REQUEST', message: 'unknown op "fly" (known: ping, set, get, del, peers, status, watch)' } })
  t.same(replies[3], { id: 'a', ok: false, error: { code: 'DSN_BAD_REQUEST', message: '"set" needs a "value"' } })
  t.same(replies[4], { ok: false, error: { code: 'DSN_BAD_REQUEST', message: '"key" must be a string' } })
  t.same(replies[5], { id: 8, ok: true, result: { nodeId: 'kitchen', publicKey: 'ab'.repeat(32) } })
})

t.test('a request line over the limit is refused and the connection closed', async (t) => {
  const { socketPath } = await setup(t)
  const [line] = await rawExchange(socketPath, '{"op":"set","key":"k","value":"' + 'x'.repeat(5000), 1)
  t.same(JSON.parse(line), { ok: false, error: { code: 'DSN_BAD_REQUEST', message: 'request line too long' } })
})

t.test('watch streams updates and peer events; close tells watchers "stopping"', async (t) => {
  const { node, server, socketPath } = await setup(t)
  const watcher = await ControlClient.connect(socketPath)
  const events: WatchEvent[] = []
  const ended = watcher.watch((e) => events.push(e))
  await new Promise((r) => setTimeout(r, 50))
  node.set('temperature', 21.5)
  node.peerUp('hall')
  node.remoteSet('hall', 'raw', new Uint8Array([9]))
  node.delete('temperature')
  node.peerDown('hall', 'goodbye')
  node.emit('message', { from: 'hall', data: { hi: 1 } })
  await new Promise((r) => setTimeout(r, 50))
  await server.close()
  await ended
  t.same(events, [
    { event: 'update', nodeId: 'kitchen', key: 'temperature', value: 21.5, deleted: false },
    { event: 'peer-up', nodeId: 'hall', incarnation: 7, address: '10.0.0.2:40000' },
    { event: 'update', nodeId: 'hall', key: 'raw', value: { $bytes: 'CQ==' }, deleted: false },
    { event: 'update', nodeId: 'kitchen', key: 'temperature', deleted: true },
    { event: 'peer-down', nodeId: 'hall', incarnation: 7, reason: 'goodbye' },
    { event: 'message', from: 'hall', data: { hi: 1 } },
    { event: 'stopping' },
  ])
  t.throws(() => statSync(socketPath), { code: 'ENOENT' }, 'close removes the socket file')
  t.equal(node.listenerCount('update'), 0, 'close unsubscribes from the node')
})

t.test('__proto__ is a key and a member like any other in the daemon JSON (issue 14)', async (t) => {
  const { node, socketPath } = await setup(t)
  const lines = await rawExchange(socketPath, [
    '{"op":"set","key":"__proto__","value":{"__proto__":{"x":1},"raw":{"$bytes":"AQI="}},"id":1}',
    '{"op":"get","node":"@","id":2}',
    '{"op":"get","id":3}',
    '{"op":"get","key":"__proto__","id":4}',
  ].join('\n') + '\n', 4)
  const stored = node.get('kitchen', '__proto__') as Record<string, unknown>
  t.same(Object.keys(stored), ['__proto__', 'raw'], 'the node got a member named __proto__')
  t.equal(Object.getPrototypeOf(stored), Object.prototype)
  t.equal((stored.raw as Uint8Array).constructor, Uint8Array, 'bytes arrive as a Uint8Array')
  const value = '{"__proto__":{"x":1},"raw":{"$bytes":"AQI="}}'
  t.equal(lines[1], `{"id":2,"ok":true,"result":{"__proto__":${value}}}`, 'get @ lists the key __proto__')
  t.equal(lines[2], `{"id":3,"ok":true,"result":{"kitchen":{"__proto__":${value}}}}`, 'get (all nodes) too')
  t.equal(lines[3], `{"id":4,"ok":true,"result":${value}}`)
})
