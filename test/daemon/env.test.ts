import t from 'tap'
import { ENV_VARS, envTable, parseEnv } from '../../src/daemon/env'

const KEY = 'a1'.repeat(32)

t.test('the table lists every variable the issue names, once', async (t) => {
  const names = ENV_VARS.map((v) => v.name)
  for (const name of [
    'DSN_NETWORK_KEY', 'DSN_NETWORK_KEY_FILE', 'DSN_NODE_ID', 'DSN_CLUSTER', 'DSN_PORT', 'DSN_GROUP', 'DSN_INTERFACE',
    'DSN_UNICAST_PORT', 'DSN_STATIC_PEERS', 'DSN_CREDENTIAL_DIR', 'DSN_MDNS', 'DSN_MULTICAST', 'DSN_HEARTBEAT_INTERVAL_MS',
    'DSN_LOG_LEVEL', 'DSN_SOCKET', 'DSN_CONFIG',
  ]) {
    t.ok(names.includes(name), name)
    t.match(envTable(), new RegExp(`^  ${name} `, 'm'), `${name} is in the help table`)
  }
  t.equal(new Set(names).size, names.length, 'no duplicates')
  t.match(envTable(), /DSN_PORT +UDP port of the multicast group \[default: 47474\]/, 'defaults come from defaultConfig()')
})

t.test('each kind parses', async (t) => {
  const s = parseEnv({
    DSN_NETWORK_KEY: ` ${KEY}\n`,
    DSN_NODE_ID: 'kitchen',
    DSN_PORT: '5000',
    DSN_UNICAST_PORT: '5001',
    DSN_STATIC_PEERS: '10.0.0.1:5001, 10.0.0.2:5001,',
    DSN_MDNS: 'off',
    DSN_MULTICAST: 'TRUE',
    DSN_HEARTBEAT_INTERVAL_MS: '250',
    DSN_LOG_LEVEL: 'debug',
    DSN_SOCKET: '/tmp/x.sock',
    DSN_CONFIG: '/etc/dsn/dsn.json',
    DSN_NETWORK_KEY_FILE: '/etc/dsn/key',
    DSN_INTERFACE: '',
  })
  t.same(s.options, {
    networkKey: KEY,
    nodeId: 'kitchen',
    port: 5000,
    unicastPort: 5001,
    staticPeers: ['10.0.0.1:5001', '10.0.0.2:5001'],
    mdns: false,
    multicast: true,
    heartbeatIntervalMs: 250,
  }, 'an empty variable counts as unset')
  t.equal(s.logLevel, 'debug')
  t.equal(s.socket, '/tmp/x.sock')
  t.equal(s.config, '/etc/dsn/dsn.json')
  t.equal(s.networkKeyFile, '/etc/dsn/key')
})

t.test('systemd StateDirectory is the credential dir unless DSN_CREDENTIAL_DIR is set', async (t) => {
  t.equal(parseEnv({ STATE_DIRECTORY: '/var/lib/dsn:/var/lib/other' }).stateDirectory, '/var/lib/dsn')
  const both = parseEnv({ STATE_DIRECTORY: '/var/lib/dsn', DSN_CREDENTIAL_DIR: '/srv/id' })
  t.equal(both.options.credentialDir, '/srv/id')
  t.equal(both.stateDirectory, undefined)
})

t.test('errors name the variable and what is allowed, never echo the key', async (t) => {
  t.throws(() => parseEnv({ DSN_PORT: 'http' }), { code: 'DSN_BAD_CONFIG', message: 'environment DSN_PORT: must be an integer (got "http")' })
  t.throws(() => parseEnv({ DSN_MDNS: 'maybe' }), { code: 'DSN_BAD_CONFIG', message: /^environment DSN_MDNS: must be true or false/ })
  t.throws(() => parseEnv({ DSN_LOG_LEVEL: 'loud' }), { code: 'DSN_BAD_CONFIG', message: 'environment DSN_LOG_LEVEL: must be one of debug, info, warn, error (got "loud")' })
})
