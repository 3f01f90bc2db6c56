// The HTTP listener inside the daemon, on a fake node (no mesh socket; the listener is on
// 127.0.0.1): routes, read-only, tokens, the Host check, JSON, server-sent events, shutdown.
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { request, type IncomingMessage } from 'node:http'
import * as path from 'node:path'
import { writeFileSync } from 'node:fs'
import { Daemon } from '../../src/daemon/daemon'
import { Logger } from '../../src/daemon/logger'
import { loadRunSettings } from '../../src/daemon/run-config'
import { fakeStarter, tempDir, type FakeNode } from '../daemon/fakes'
import { MAX_CLIENTS } from '../../src/http/event-stream'

const KEY = 'e5'.repeat(32)
const TOKEN = 'T0ken-' + 'z9'.repeat(12)

interface Reply {
  status: number
  headers: IncomingMessage['headers']
  body: string
}

function get(url: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

async function start(t: Test, env: Record<string, string>) {
  const dir = tempDir(t)
  writeFileSync(path.join(dir, 'dsn.json'), JSON.stringify({ nodeId: 'kitchen', networkKey: KEY, credentialDir: dir }))
  const lines: string[] = []
  const load = () => loadRunSettings({ config: path.join(dir, 'dsn.json') }, { DSN_SOCKET: path.join(dir, 'dsn.sock'), ...env })
  const starter = fakeStarter()
  const daemon = await Daemon.start(load(), { startNode: starter.startNode, reloadSettings: load, logger: new Logger((l) => lines.push(l)), version: '9.9.9' })
  t.teardown(() => daemon.stop('teardown'))
  const url = String(daemon.info().http)
  return { daemon, node: starter.nodes[0] as FakeNode, url, lines }
}

/** Reads an event stream frame by frame. */
class Sse {
  private buffer = ''
  private readonly frames: Array<{ event: string; data: unknown }> = []
  private wake: (() => void) | undefined
  ended = false
  constructor(readonly res: IncomingMessage) {
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => {
      this.buffer += chunk
      let end
      while ((end = this.buffer.indexOf('\n\n')) !== -1) {
        const text = this.buffer.slice(0, end)
        this.buffer = this.buffer.slice(end + 2)
        const event = /^event: (.*)$/m.exec(text)?.[1]
        const data = /^data: (.*)$/m.exec(text)?.[1]
        if (event && data) this.frames.push({ event, data: JSON.parse(data) })
      }
      this.wake?.()
    })
    res.on('end', () => {
      this.ended = true
      this.wake?.()
    })
  }

  async next(event: string, timeoutMs = 5000): Promise<unknown> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const i = this.frames.findIndex((f) => f.event === event)
      if (i !== -1) return this.frames.splice(0, i + 1)[i].data
      if (this.ended) throw new Error(`stream ended before ${event}`)
      if (Date.now() > deadline) throw new Error(`no ${event} within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        this.wake = resolve
        setTimeout(resolve, 100)
      })
    }
  }
}

function events(url: string, query = ''): Promise<Sse> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(`events${query}`, url), (res) => resolve(new Sse(res)))
    req.on('error', reject)
    req.end()
  })
}

t.test('off unless configured', async (t) => {
  const { daemon, lines } = await start(t, {})
  t.equal(daemon.info().http, undefined)
  t.notOk(lines.some((l) => l.includes('http-listening')))
})

t.test('loopback without a token: routes, read-only, Host check', async (t) => {
  const { node, url, lines } = await start(t, { DSN_HTTP: '127.0.0.1:0' })
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
  t.match(JSON.parse(lines.find((l) => l.includes('http-listening')) as string), { url, token: false })
  node.set('temperature', 21.5)
  node.remoteSet('hall', 'door', true)
  node.remoteSet('hall', 'label', 'front "door"')

  const metrics = await get(url + 'metrics')
  t.equal(metrics.status, 200)
  t.equal(metrics.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8')
  t.match(metrics.body, /^dsn_value\{node="kitchen",key="temperature"\} 21\.5$/m)
  t.match(metrics.body, /^dsn_value\{node="hall",key="door"\} 1$/m)
  t.notMatch(metrics.body, /key="label"/, 'strings are not values')
  t.match(metrics.body, /^dsn_peer_last_heard_seconds\{peer="hall"\} 0\.12$/m)
  const lint = spawnSync('promtool', ['check', 'metrics'], { input: metrics.body, encoding: 'utf8' })
  t.equal(lint.status, 0, `promtool check metrics: ${lint.stdout}${lint.stderr}`)

  const state = await get(url + 'state')
  t.equal(state.headers['content-type'], 'application/json; charset=utf-8')
  const json = JSON.parse(state.body) as { self: string; nodes: Array<{ nodeId: string; up: boolean; self: boolean; state: Record<string, unknown>; link: unknown }> }
  t.equal(json.self, 'kitchen')
  t.match(json.nodes.find((n) => n.nodeId === 'hall'), { up: true, self: false, state: { door: true, label: 'front "door"' }, link: { address: '10.0.0.2:40000', lastHeardMs: 120, missing: 0 } })
  t.match(json.nodes.find((n) => n.nodeId === 'kitchen'), { self: true, state: { temperature: 21.5 }, link: null })
  node.peerDown('hall', 'timeout')
  const after = JSON.parse((await get(url + 'state')).body) as typeof json
  t.match(after.nodes.find((n) => n.nodeId === 'hall'), { up: false, downReason: 'timeout', state: {} }, 'a peer that went down is listed as down')

  const page = await get(url)
  t.equal(page.status, 200)
  t.equal(page.headers['content-type'], 'text/html; charset=utf-8')
  t.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'/)
  t.notMatch(page.body, /(src|href)=["']?(https?:)?\/\//, 'nothing is loaded from elsewhere')
  t.equal(page.headers['cache-control'], 'no-store')

  t.equal((await get(url + 'state', { method: 'POST' })).status, 405, 'read-only')
  t.equal((await get(url + 'metrics', { method: 'DELETE' })).headers.allow, 'GET, HEAD')
  t.equal((await get(url + 'nope')).status, 404)
  const head = await get(url + 'metrics', { method: 'HEAD' })
  t.same([head.status, head.body], [200, ''])
  const rebinding = await get(url + 'state', { headers: { Host: 'evil.example:9464' } })
  t.equal(rebinding.status, 403, 'a foreign Host is refused (DNS rebinding)')
  t.equal((await get(url + 'state', { headers: { Host: 'localhost:9464' } })).status, 200)
})

t.test('with a token: required on every path, as Bearer or ?token=', async (t) => {
  const { url } = await start(t, { DSN_HTTP: '127.0.0.1:0', DSN_HTTP_TOKEN: TOKEN })
  for (const p of ['', 'metrics', 'state', 'events', 'favicon.ico', 'nope']) {
    const r = await get(url + p)
    t.equal(r.status, 401, `/${p} without a token`)
    t.equal(r.headers['www-authenticate'], 'Bearer realm="dsn"')
  }
  t.equal((await get(url + 'metrics', { headers: { Authorization: 'Bearer wrong-token-0123456789' } })).status, 401)
  t.equal((await get(url + 'metrics', { headers: { Authorization: `Bearer ${TOKEN}x` } })).status, 401, 'a longer token is wrong')
  t.equal((await get(url + 'metrics', { headers: { Authorization: `Bearer ${TOKEN.slice(0, -1)}` } })).status, 401, 'a prefix is wrong')
  t.equal((await get(url + 'metrics', { headers: { Authorization: `Bearer ${TOKEN}` } })).status, 200)
  t.equal((await get(url + `state?token=${encodeURIComponent(TOKEN)}`)).status, 200)
  t.equal((await get(url + `?token=${encodeURIComponent(TOKEN)}`, { headers: { Host: 'dsn.lan' } })).status, 200, 'with a token any Host name works (a LAN name)')
  const sse = await events(url, `?token=${encodeURIComponent(TOKEN)}`)
  t.equal(sse.res.statusCode, 200)
  sse.res.destroy()
})

t.test('/events: a snapshot, then updates and peer changes as they happen; ended by stop', async (t) => {
  const { daemon, node, url } = await start(t, { DSN_HTTP: '127.0.0.1:0' })
  node.set('temperature', 20)
  const sse = await events(url)
  t.equal(sse.res.headers['content-type'], 'text/event-stream; charset=utf-8')
  t.match(await sse.next('snapshot'), { self: 'kitchen', nodes: [{ nodeId: 'kitchen', state: { temperature: 20 } }], history: { kitchen: { temperature: [[Number, 20]] } } })
  node.set('temperature', 21)
  t.match(await sse.next('update'), { nodeId: 'kitchen', key: 'temperature', value: 21, deleted: false, time: Number })
  node.remoteSet('hall', 'blob', new Uint8Array([0, 1, 2, 255]))
  t.match(await sse.next('peer-up'), { nodeId: 'hall', address: '10.0.0.2:40000' })
  t.match(await sse.next('update'), { nodeId: 'hall', key: 'blob', value: { $bytes: 'AAEC/w==' } })
  for (let i = 0; i < 1000; i++) node.set('flood', i)
  t.match(await sse.next('update'), { key: 'flood', value: 999 }, 'a burst is coalesced to the latest value per key')
  node.delete('temperature')
  t.match(await sse.next('update'), { key: 'temperature', value: null, deleted: true })
  node.peerDown('hall', 'goodbye')
  t.match(await sse.next('peer-down'), { nodeId: 'hall', reason: 'goodbye' })
  await daemon.stop('test')
  await sse.next('never').catch((err: Error) => t.match(err.message, /stream ended/, 'stop ends the stream'))
  t.equal(node.listenerCount('update'), 1, 'only the daemon\'s own log listener is left on the node')
  t.equal(node.listenerCount('peer-down'), 1)
})

t.test('a port in use: a clear error, and nothing left behind', async (t) => {
  const first = await start(t, { DSN_HTTP: '127.0.0.1:0' })
  const port = new URL(first.url).port
  const dir = tempDir(t)
  writeFileSync(path.join(dir, 'dsn.json'), JSON.stringify({ nodeId: 'other', networkKey: KEY, credentialDir: dir }))
  const settings = loadRunSettings({ config: path.join(dir, 'dsn.json') }, { DSN_SOCKET: path.join(dir, 'dsn.sock'), DSN_HTTP: `127.0.0.1:${port}` })
  const starter = fakeStarter()
  await t.rejects(Daemon.start(settings, { startNode: starter.startNode, reloadSettings: () => settings, logger: new Logger(() => undefined), version: 'x' }), {
    code: 'DSN_PORT_IN_USE',
    message: `http 127.0.0.1:${port}: the address is in use by another process`,
  })
  t.equal(starter.nodes[0].stopCalls, 1, 'the node was stopped')
})

t.test('event streams are capped; a closed one frees its slot', async (t) => {
  const { url } = await start(t, { DSN_HTTP: '127.0.0.1:0' })
  const streams = await Promise.all(Array.from({ length: MAX_CLIENTS }, () => events(url)))
  t.ok(streams.every((s) => s.res.statusCode === 200))
  const refused = await get(url + 'events')
  t.equal(refused.status, 503)
  t.match(refused.body, `too many event streams (at most ${MAX_CLIENTS})`)
  const closed = new Promise((resolve) => streams[0].res.once('close', resolve))
  streams[0].res.destroy()
  await closed
  let again: Sse | undefined
  for (let i = 0; i < 50 && again?.res.statusCode !== 200; i++) {
    again?.res.destroy()
    again = await events(url)
  }
  t.equal(again?.res.statusCode, 200, 'a slot is free again')
  for (const s of [...streams, again]) s?.res.destroy()
})
