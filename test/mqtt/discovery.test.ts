// Home Assistant discovery payloads (src/mqtt/discovery.ts): pure, checked field by field against
// https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery.
import t from 'tap'
import { componentOf, deviceId, discoveryConfig, entityKind, type DiscoveryContext } from '../../src/mqtt/discovery'
import { Topics } from '../../src/mqtt/topics'

const ctx: DiscoveryContext = { discoveryPrefix: 'homeassistant', cluster: 'home', bridgeNode: 'hub', version: '1.2.3', topics: new Topics('dsn', 'home') }
const ID_LEVEL = /^[a-zA-Z0-9_-]+$/

t.test('entity kinds: number and string are sensors, boolean a binary_sensor, others none', async (t) => {
  t.equal(entityKind(21.5), 'number')
  t.equal(entityKind(true), 'boolean')
  t.equal(entityKind('on'), 'string')
  for (const v of [null, [1], { a: 1 }, { $bytes: 'AA==' }, undefined]) t.equal(entityKind(v), undefined, JSON.stringify(v))
  t.equal(componentOf('number'), 'sensor')
  t.equal(componentOf('string'), 'sensor')
  t.equal(componentOf('boolean'), 'binary_sensor')
})

t.test('a numeric sensor of another node', async (t) => {
  const m = discoveryConfig(ctx, 'sensor_kitchen', 'temperature', 'number')
  const levels = m.topic.split('/')
  t.equal(levels.length, 5)
  t.same([levels[0], levels[1], levels[4]], ['homeassistant', 'sensor', 'config'])
  t.match(levels[2], ID_LEVEL, 'node_id as Home Assistant allows it')
  t.match(levels[3], ID_LEVEL, 'object_id as Home Assistant allows it')
  const c = JSON.parse(m.payload)
  t.same(c, {
    name: 'temperature',
    unique_id: c.unique_id,
    state_topic: 'dsn/home/sensor_kitchen/temperature',
    availability: [{ topic: 'dsn/home/sensor_kitchen/status' }, { topic: 'dsn/home/$bridge/hub' }],
    availability_mode: 'all',
    payload_available: 'online',
    payload_not_available: 'offline',
    device: {
      identifiers: [deviceId('home', 'sensor_kitchen')],
      name: 'sensor_kitchen',
      manufacturer: 'distributed-state-network',
      model: 'dsn node (cluster home)',
      via_device: deviceId('home', 'hub'),
    },
    origin: { name: 'dsn', sw_version: '1.2.3' },
    state_class: 'measurement',
  })
  t.match(c.unique_id, /^dsn_home_sensor_kitchen_[0-9a-f]{8}_temperature_[0-9a-f]{8}$/)
})

t.test('the bridge node itself carries sw_version, no via_device', async (t) => {
  const c = JSON.parse(discoveryConfig(ctx, 'hub', 'uptime', 'number').payload)
  t.equal(c.device.sw_version, '1.2.3')
  t.notOk('via_device' in c.device)
})

t.test('string and boolean entities', async (t) => {
  const s = discoveryConfig(ctx, 'n', 'mode', 'string')
  t.equal(s.component, 'sensor')
  const sc = JSON.parse(s.payload)
  t.equal(sc.value_template, '{{ value_json[:255] }}', 'values are JSON: a string arrives quoted')
  t.notOk('state_class' in sc, 'a text sensor has no state_class')
  const b = discoveryConfig(ctx, 'n', 'door_open', 'boolean')
  t.equal(b.component, 'binary_sensor')
  t.match(b.topic, /^homeassistant\/binary_sensor\//)
  t.match(JSON.parse(b.payload), { payload_on: 'true', payload_off: 'false', state_topic: 'dsn/home/n/door_open' })
})

t.test('ids and keys that slug alike still get distinct topics and unique_ids', async (t) => {
  const a = discoveryConfig(ctx, 'a.b', 'x/y', 'number')
  const b = discoveryConfig(ctx, 'a_b', 'x+y', 'number')
  t.not(a.topic, b.topic)
  t.not(JSON.parse(a.payload).unique_id, JSON.parse(b.payload).unique_id)
  t.not(deviceId('c', 'a.b'), deviceId('c', 'a_b'))
  t.equal(JSON.parse(a.payload).state_topic, 'dsn/home/a.b/x%2Fy')
  for (const level of a.topic.split('/').slice(2, 4)) t.match(level, ID_LEVEL)
  const odd = discoveryConfig(ctx, 'n', '°°°', 'string')
  for (const level of odd.topic.split('/').slice(2, 4)) t.match(level, ID_LEVEL, 'a key of no ASCII letters still slugs')
})
