// The bridge's wiring on a fake node and a fake MQTT.js client (the real broker is in
// bridge-lab.test.ts): what is published in which order, type changes of a key, the publish
// window, resync after a reconnect, backoff, commands, stop.
import t, { type Test } from 'tap'
import { EventEmitter } from 'node:events'
import { Logger } from '../../src/daemon/logger'
import type * as BridgeModule from '../../src/mqtt/bridge'
import type { MqttSettings } from '../../src/mqtt/config'
import { FakeNode } from '../daemon/fakes'

interface Published {
  topic: string
  payload: string
  retain: boolean
  qos: number
  done: (err?: Error) => void
}

class FakeClient extends EventEmitter {
  connected = false
  readonly published: Published[] = []
  readonly subscribed: string[] = []
  ended = false
  constructor(readonly url: string, readonly options: Record<string, unknown> & { reconnectPeriod: number }) {
    super()
  }
  publish(topic: string, payload: string, opts: { qos: number; retain: boolean }, done: (err?: Error) => void): void {
    this.published.push({ topic, payload, retain: opts.retain, qos: opts.qos, done })
  }
  subscribe(filter: string, _opts: unknown, done: (err?: Error) => void): void {
    this.subscribed.push(filter)
    done()
  }
  end(_force: boolean, _opts: unknown, done: () => void): void {
    this.ended = true
    done()
  }
  /** Acknowledges every publish so far. */
  ackAll(): void {
    for (const p of this.published.splice(0)) p.done()
  }
  up(): void {
    this.connected = true
    this.emit('connect')
  }
  down(): void {
    this.connected = false
    this.emit('close')
  }
}

const SETTINGS: MqttSettings = {
  url: 'mqtt://broker.test:1883',
  topicPrefix: 'dsn',
  clientId: undefined,
  username: undefined,
  password: undefined,
  passwordFile: undefined,
  ca: undefined,
  caFile: undefined,
  discovery: true,
  discoveryPrefix: 'homeassistant',
  commands: false,
}

function harness(t: Test, settings: Partial<MqttSettings> = {}) {
  const clients: FakeClient[] = []
  const { startMqttBridge } = t.mockRequire<typeof BridgeModule>('../../src/mqtt/bridge', {
    mqtt: {
      connect: (url: string, options: Record<string, unknown> & { reconnectPeriod: number }) => {
        const c = new FakeClient(url, options)
        clients.push(c)
        return c
      },
    },
  })
  const lines: Record<string, unknown>[] = []
  const logger = new Logger((l) => lines.push(JSON.parse(l)), 'debug')
  const node = new FakeNode({ nodeId: 'hub', cluster: 'home', networkKey: '00'.repeat(32) })
  const bridge = startMqttBridge({ node, cluster: 'home', settings: { ...SETTINGS, ...settings }, logger, version: '1.0.0' })
  const client = clients[0]
  /** Acknowledge everything until nothing more is published; returns [topic, payload] in order. */
  const drain = () => {
    const out: [string, string][] = []
    while (client.published.length > 0) {
      const batch = client.published.slice()
      out.push(...batch.map((p): [string, string] => [p.topic, p.payload]))
      client.ackAll()
    }
    return out
  }
  return { node, bridge, client, lines, drain }
}

t.test('connect: will, client id, then the whole state, retained at QoS 1', async (t) => {
  const h = harness(t)
  t.equal(h.client.url, 'mqtt://broker.test:1883')
  t.match(h.client.options, { clientId: 'dsn-home-hub', clean: true, queueQoSZero: false, will: { topic: 'dsn/home/$bridge/hub', qos: 1, retain: true } })
  t.equal(String((h.client.options.will as { payload: Buffer }).payload), 'offline')
  h.node.set('t', 21.5)
  t.same(h.client.published, [], 'nothing is published while disconnected')
  h.client.up()
  t.ok(h.client.published.every((p) => p.retain && p.qos === 1))
  const out = h.drain()
  t.same(out.map(([topic]) => topic), ['dsn/home/$bridge/hub', 'dsn/home/hub/status', out[2][0], 'dsn/home/hub/t'])
  t.match(out[2][0], /^homeassistant\/sensor\/dsn_home_hub_[0-9a-f]{8}\/t_[0-9a-f]{8}\/config$/)
  t.same(out[3], ['dsn/home/hub/t', '21.5'])
  t.match(h.lines.find((l) => l.msg === 'mqtt-connected'), { url: 'mqtt://broker.test:1883', clientId: 'dsn-home-hub' })
})

t.test('a key that changes type moves its entity; a delete clears both topics', async (t) => {
  const h = harness(t)
  h.client.up()
  h.drain()
  h.node.remoteSet('kitchen', 'door', 1)
  const first = h.drain()
  const sensorConfig = first.find(([topic]) => topic.startsWith('homeassistant/sensor/'))![0]
  h.node.remoteSet('kitchen', 'door', 2)
  t.same(h.drain(), [['dsn/home/kitchen/door', '2']], 'same type: the config is not sent again')
  h.node.remoteSet('kitchen', 'door', true)
  const moved = h.drain()
  t.same(moved[0], [sensorConfig, ''], 'the sensor config is cleared')
  t.match(moved[1][0], /^homeassistant\/binary_sensor\//)
  t.same(moved[2], ['dsn/home/kitchen/door', 'true'])
  h.node.remoteSet('kitchen', 'door', { a: 1 })
  t.same(h.drain(), [[moved[1][0], ''], ['dsn/home/kitchen/door', '{"a":1}']], 'an object keeps its topic, loses its entity')
  h.node.remoteSet('kitchen', 'door', 'open')
  const text = h.drain()
  h.node.states.get('kitchen')!.delete('door')
  h.node.emit('update', { nodeId: 'kitchen', key: 'door', value: undefined, deleted: true })
  t.same(h.drain(), [[text[0][0], ''], ['dsn/home/kitchen/door', '']])
  h.node.peerDown('kitchen', 'timeout')
  t.same(h.drain(), [['dsn/home/kitchen/status', 'offline']])
})

t.test('at most 32 publishes in flight; the rest waits coalesced', async (t) => {
  const h = harness(t, { discovery: false })
  h.client.up()
  h.drain()
  for (let round = 0; round < 100; round++) for (let k = 0; k < 50; k++) h.node.set(`k${k}`, round)
  t.equal(h.client.published.length, 32)
  t.match(h.bridge.stats(), { connected: true, inFlight: 32, pending: 50 - 32 + 32 })
  const out = h.drain()
  t.equal(out.length, 32 + 50, 'the 32 first values, then each key once with its latest value')
  t.same(out.slice(32).find(([topic]) => topic === 'dsn/home/hub/k0'), ['dsn/home/hub/k0', '99'])
})

t.test('an outage: logged once, backoff doubling to 30 s, full resync on reconnect', async (t) => {
  const h = harness(t)
  h.client.emit('error', new Error('connect ECONNREFUSED 10.0.0.1:1883'))
  h.client.down()
  for (let i = 0; i < 8; i++) {
    h.client.emit('reconnect')
    h.client.emit('error', new Error('connect ECONNREFUSED 10.0.0.1:1883'))
    h.client.down()
  }
  const warnings = h.lines.filter((l) => l.msg === 'mqtt-disconnected')
  t.equal(warnings.length, 1, 'one line per outage')
  t.match(warnings[0], { level: 'warn', error: { message: /ECONNREFUSED/ } })
  t.equal(h.client.options.reconnectPeriod, 30_000, 'backoff capped at 30 s')
  h.node.set('a', 1)
  h.client.up()
  t.equal(h.client.options.reconnectPeriod, 1000, 'reset by a connect')
  t.ok(h.drain().some(([topic, payload]) => topic === 'dsn/home/hub/a' && payload === '1'))
  // A publish in flight when the connection drops: the window is reset, everything is sent again.
  h.node.set('b', 2)
  t.equal(h.client.published.length, 2, 'its discovery config and its value')
  h.client.down()
  for (const p of h.client.published.splice(0)) p.done(new Error('connection closed'))
  h.client.up()
  const again = h.drain()
  t.ok(again.some(([topic, payload]) => topic === 'dsn/home/hub/b' && payload === '2'))
  t.ok(again.some(([topic]) => topic === 'dsn/home/hub/a'), 'the whole state, not only what failed')
  t.equal(h.lines.filter((l) => l.msg === 'mqtt-disconnected').length, 2, 'a second outage, a second line')
})

t.test('commands write this node\'s own keys only, parsed like dsn set', async (t) => {
  const h = harness(t, { commands: true })
  h.client.up()
  t.same(h.client.subscribed, ['dsn/home/hub/set/+'])
  const msg = (topic: string, payload: string, retain = false) => h.client.emit('message', topic, Buffer.from(payload), { retain })
  msg('dsn/home/hub/set/target', '22.5')
  msg('dsn/home/hub/set/mode', 'eco')
  msg('dsn/home/hub/set/a%2Fb', '{"x":true}')
  msg('dsn/home/hub/set/old', '1', true)
  msg('dsn/home/kitchen/set/t', '1')
  msg('dsn/home/hub/set/empty', '')
  msg('dsn/home/hub/set/' + 'k'.repeat(200), '1')
  t.equal(h.node.get('hub', 'target'), 22.5)
  t.equal(h.node.get('hub', 'mode'), 'eco')
  t.same(h.node.get('hub', 'a/b'), { x: true })
  t.equal(h.node.get('hub', 'old'), undefined, 'a retained command is never applied')
  t.equal(h.node.get('kitchen', 't'), undefined)
  t.equal(h.node.get('hub', 'empty'), undefined)
  t.match(h.lines.find((l) => l.msg === 'mqtt-command-failed'), { level: 'warn', error: { code: 'DSN_BAD_KEY' } })
  t.equal(h.bridge.stats().commands, 3)
})

t.test('commands off: nothing subscribed, messages ignored', async (t) => {
  const h = harness(t)
  h.client.up()
  t.same(h.client.subscribed, [])
  h.client.emit('message', 'dsn/home/hub/set/x', Buffer.from('1'), { retain: false })
  t.equal(h.node.get('hub', 'x'), undefined)
})

t.test('stop: this node and the bridge say offline, then a clean disconnect', async (t) => {
  const h = harness(t)
  h.client.up()
  h.drain()
  const stopped = h.bridge.stop()
  t.same(h.client.published.map((p) => [p.topic, p.payload]), [['dsn/home/hub/status', 'offline'], ['dsn/home/$bridge/hub', 'offline']])
  h.client.ackAll()
  await stopped
  t.ok(h.client.ended)
  h.node.set('after', 1)
  t.same(h.client.published, [], 'no longer listening to the node')
})
