// The `mqtt` settings of `dsn run`: defaults, environment over file, files read, errors naming the field.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { loadRunSettings } from '../../src/daemon/run-config'
import { describeMqtt, resolveMqttSettings } from '../../src/mqtt/config'

const KEY = 'ab'.repeat(32)

t.test('no url: no bridge', async (t) => {
  t.equal(resolveMqttSettings(undefined, {}, undefined), undefined)
  t.throws(() => resolveMqttSettings({ username: 'u' }, {}, undefined), /config\.mqtt\.url: required when mqtt\.username is set/)
})

t.test('defaults', async (t) => {
  t.same(resolveMqttSettings({ url: 'mqtt://broker.lan:1883' }, {}, undefined), {
    url: 'mqtt://broker.lan:1883',
    topicPrefix: 'dsn',
    clientId: undefined,
    username: undefined,
    passwordFile: undefined,
    password: undefined,
    caFile: undefined,
    ca: undefined,
    discovery: true,
    discoveryPrefix: 'homeassistant',
    commands: false,
  })
})

t.test('errors name the field', async (t) => {
  const bad: [unknown, RegExp][] = [
    ['mqtt://x', /config\.mqtt: must be an object/],
    [{ url: 'ws://x' }, /config\.mqtt\.url: scheme must be mqtt:\/\/ or mqtts:\/\//],
    [{ url: 'not a url' }, /config\.mqtt\.url: must be a URL/],
    [{ url: 'mqtt://u:secret@x' }, /config\.mqtt\.url: must not hold a password/],
    [{ url: 'mqtt://x', topicPrefix: 'a/+' }, /config\.mqtt\.topicPrefix/],
    [{ url: 'mqtt://x', topicPrefix: '$SYS' }, /config\.mqtt\.topicPrefix/],
    [{ url: 'mqtt://x', discoveryPrefix: 'ha/' }, /config\.mqtt\.discoveryPrefix/],
    [{ url: 'mqtt://x', commands: 'yes' }, /config\.mqtt\.commands: must be true or false/],
    [{ url: 'mqtt://x', port: 1 }, /config\.mqtt\.port: unknown field/],
    [{ url: 'mqtt://x', caFile: '/etc/ca.pem' }, /config\.mqtt\.caFile: only applies to an mqtts:\/\/ url/],
    [{ url: 'mqtt://x', passwordFile: '/nonexistent/pw' }, /config\.mqtt\.passwordFile: cannot read \/nonexistent\/pw \(ENOENT\)/],
  ]
  for (const [given, message] of bad) t.throws(() => resolveMqttSettings(given, {}, undefined), { code: 'DSN_BAD_CONFIG', message }, JSON.stringify(given))
})

t.test('from `dsn run`: file, environment and secrets', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dsn-mqtt-config-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(path.join(dir, 'pw'), 'hunter2\n')
  writeFileSync(path.join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\n')
  const configPath = path.join(dir, 'dsn.json')
  writeFileSync(configPath, JSON.stringify({ nodeId: 'hub', networkKey: KEY, mqtt: { url: 'mqtts://broker.lan', username: 'dsn', passwordFile: 'pw', caFile: 'ca.pem', commands: true } }))
  const s = loadRunSettings({ config: configPath }, { DSN_MQTT_TOPIC_PREFIX: 'site/a', DSN_MQTT_DISCOVERY: 'off' })
  t.match(s.mqtt, { url: 'mqtts://broker.lan', username: 'dsn', password: 'hunter2', topicPrefix: 'site/a', discovery: false, commands: true })
  t.equal(s.mqtt?.ca?.toString(), '-----BEGIN CERTIFICATE-----\n', 'the CA file is read relative to the config file')
  t.notMatch(JSON.stringify(describeMqtt(s.mqtt!)), /hunter2/, 'the password is never described')
  t.equal(s.config.nodeId, 'hub', 'mqtt is not passed to the node options')

  const fromEnv = loadRunSettings({}, { DSN_NETWORK_KEY: KEY, DSN_NODE_ID: 'x', DSN_MQTT_URL: 'mqtt://10.0.0.1', DSN_MQTT_COMMANDS: 'true' })
  t.match(fromEnv.mqtt, { url: 'mqtt://10.0.0.1', commands: true, discovery: true })
  t.equal(loadRunSettings({}, { DSN_NETWORK_KEY: KEY, DSN_NODE_ID: 'x' }).mqtt, undefined)
  t.throws(() => loadRunSettings({}, { DSN_NETWORK_KEY: KEY, DSN_NODE_ID: 'x', DSN_MQTT_URL: 'mqtt://x', DSN_MQTT_COMMANDS: 'maybe' }), /DSN_MQTT_COMMANDS: must be true or false/)
})
