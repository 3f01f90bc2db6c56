import t from 'tap'
import { chmodSync, writeFileSync } from 'node:fs'
import * as path from 'node:path'
import { loadIdentitySettings, loadRunSettings } from '../../src/daemon/run-config'

const KEY = 'c3'.repeat(32)
const OTHER_KEY = 'd4'.repeat(32)

function files(t: { testdir(fixture: Record<string, string>): string }, contents: Record<string, string | object>): string {
  return t.testdir(Object.fromEntries(Object.entries(contents).map(([n, c]) => [n, typeof c === 'string' ? c : JSON.stringify(c)])))
}

t.test('defaults < file < environment < flags', async (t) => {
  const dir = files(t, { 'dsn.json': { nodeId: 'from-file', port: 4000, cluster: 'lab', logLevel: 'warn', socket: '/tmp/file.sock', networkKey: KEY } })
  const cfg = path.join(dir, 'dsn.json')
  chmodSync(cfg, 0o600)
  const s = loadRunSettings({ config: cfg }, { DSN_PORT: '4001', DSN_NODE_ID: 'from-env' })
  t.equal(s.config.nodeId, 'from-env')
  t.equal(s.config.port, 4001)
  t.equal(s.config.cluster, 'lab')
  t.equal(s.config.networkKey, KEY)
  t.equal(s.config.heartbeatIntervalMs, 1000, 'a default')
  t.equal(s.logLevel, 'warn')
  t.equal(s.socketPath, '/tmp/file.sock')
  t.same(s.warnings, [])
  t.equal(loadRunSettings({ config: cfg, socket: '/tmp/flag.sock' }, { DSN_SOCKET: '/tmp/env.sock' }).socketPath, '/tmp/flag.sock')
  t.equal(loadRunSettings({ config: cfg }, { DSN_SOCKET: '/tmp/env.sock', DSN_LOG_LEVEL: 'debug' }).socketPath, '/tmp/env.sock')
  t.equal(loadRunSettings({}, { DSN_CONFIG: cfg }).config.nodeId, 'from-file', 'DSN_CONFIG names the file')
  t.equal(loadRunSettings({}, { DSN_NETWORK_KEY: KEY }).socketPath, '/run/dsn/dsn.sock', 'the default socket')
})

t.test('the key from a file: DSN_NETWORK_KEY_FILE, or networkKeyFile relative to the config', async (t) => {
  const dir = files(t, { 'network.key': KEY + '\n', 'dsn.json': { networkKeyFile: 'network.key' }, 'both.json': { networkKeyFile: 'network.key', networkKey: KEY } })
  t.equal(loadRunSettings({}, { DSN_NETWORK_KEY_FILE: path.join(dir, 'network.key') }).config.networkKey, KEY)
  t.equal(loadRunSettings({ config: path.join(dir, 'dsn.json') }, {}).config.networkKey, KEY)
  t.equal(loadRunSettings({ config: path.join(dir, 'dsn.json') }, { DSN_NETWORK_KEY: OTHER_KEY }).config.networkKey, OTHER_KEY, 'environment wins')
  t.throws(() => loadRunSettings({}, { DSN_NETWORK_KEY: KEY, DSN_NETWORK_KEY_FILE: path.join(dir, 'network.key') }), {
    code: 'DSN_BAD_CONFIG',
    message: 'set only one of DSN_NETWORK_KEY and DSN_NETWORK_KEY_FILE',
  })
  t.throws(() => loadRunSettings({ config: path.join(dir, 'both.json') }, {}), { message: /set only one of networkKey and networkKeyFile/ })
  t.throws(() => loadRunSettings({}, { DSN_NETWORK_KEY_FILE: path.join(dir, 'absent.key') }), {
    code: 'DSN_BAD_CONFIG',
    message: `DSN_NETWORK_KEY_FILE ${path.join(dir, 'absent.key')}: cannot read the network key (ENOENT)`,
  })
})

t.test('missing and malformed keys, never echoed', async (t) => {
  t.throws(() => loadRunSettings({}, {}), { code: 'DSN_BAD_CONFIG', message: /^no network key: set DSN_NETWORK_KEY or DSN_NETWORK_KEY_FILE/ })
  const nearMiss = KEY.slice(0, 63) + 'z'
  const err = t.throws(() => loadRunSettings({}, { DSN_NETWORK_KEY: nearMiss })) as Error
  t.match(err, { code: 'DSN_BAD_CONFIG', message: 'config.networkKey: required: 64 hex characters (256 bits); make one with `dsn keygen`' })
  t.notMatch(err.message, nearMiss.slice(0, 20))
})

t.test('config file errors name the file and field', async (t) => {
  const dir = files(t, {
    'bad.json': `{"networkKey": "${KEY}", oops}`,
    'array.json': '[1]',
    'port.json': { networkKey: KEY, port: 'http' },
    'unknown.json': { networkKey: KEY, prot: 1 },
    'level.json': { networkKey: KEY, logLevel: 'loud' },
  })
  const bad = t.throws(() => loadRunSettings({ config: path.join(dir, 'bad.json') }, {})) as Error
  t.match(bad, { code: 'DSN_BAD_CONFIG', message: new RegExp(`^config file ${dir}/bad.json: not valid JSON`) })
  t.notMatch(bad.message, KEY.slice(0, 16), 'the parse error does not quote the key')
  t.throws(() => loadRunSettings({ config: path.join(dir, 'array.json') }, {}), { message: /must hold a JSON object of options/ })
  t.throws(() => loadRunSettings({ config: path.join(dir, 'port.json') }, {}), { message: 'config.port: must be an integer from 1 to 65535 (got "http")' })
  t.throws(() => loadRunSettings({ config: path.join(dir, 'unknown.json') }, {}), { message: /^config.prot: unknown field/ })
  t.throws(() => loadRunSettings({ config: path.join(dir, 'level.json') }, {}), { message: /logLevel must be one of debug, info, warn, error/ })
  t.throws(() => loadRunSettings({ config: path.join(dir, 'absent.json') }, {}), { message: `config file ${dir}/absent.json: cannot read it (ENOENT)` })
})

t.test('a world-readable config file holding the key gives a warning', async (t) => {
  const dir = files(t, { 'dsn.json': { networkKey: KEY } })
  chmodSync(path.join(dir, 'dsn.json'), 0o644)
  const s = loadRunSettings({ config: path.join(dir, 'dsn.json') }, {})
  t.match(s.warnings, [/holds networkKey and is readable by other users/])
  t.notMatch(JSON.stringify(s.warnings), KEY)
})

t.test('credential dir: environment, file, then $STATE_DIRECTORY, then ~/.dsn/<nodeId>', async (t) => {
  const dir = files(t, { 'dsn.json': { networkKey: KEY, credentialDir: '/from/file' } })
  const cfg = path.join(dir, 'dsn.json')
  writeFileSync(path.join(dir, 'plain.json'), JSON.stringify({ nodeId: 'n1' }))
  t.equal(loadRunSettings({}, { DSN_NETWORK_KEY: KEY, STATE_DIRECTORY: '/var/lib/dsn' }).config.credentialDir, '/var/lib/dsn')
  t.equal(loadRunSettings({ config: cfg }, { STATE_DIRECTORY: '/var/lib/dsn' }).config.credentialDir, '/from/file')
  t.equal(loadRunSettings({ config: cfg }, { DSN_CREDENTIAL_DIR: '/from/env' }).config.credentialDir, '/from/env')
  t.match(loadRunSettings({}, { DSN_NETWORK_KEY: KEY, DSN_NODE_ID: 'n2' }).config.credentialDir, /\.dsn\/n2$/)
  t.same(loadIdentitySettings({ config: path.join(dir, 'plain.json') }, {}).nodeId, 'n1', 'dsn id needs no key')
  t.match(loadIdentitySettings({ config: path.join(dir, 'plain.json') }, {}).credentialDir, /\.dsn\/n1$/)
})

t.test('JSON errors give line and column; unknown DSN_* variables a warning with a did-you-mean (issue 14)', async (t) => {
  const dir = files(t, {
    'two-lines.json': `{\n  "networkKey": "${KEY}",\n  "port": 5000,,\n}`,
    'cut.json': `{\n  "networkKey": "${KEY}"`,
  })
  t.throws(() => loadRunSettings({ config: path.join(dir, 'two-lines.json') }, {}), { message: /not valid JSON \(line 3, column 16\)$/ })
  t.throws(() => loadRunSettings({ config: path.join(dir, 'cut.json') }, {}), { message: /not valid JSON \((unexpected end of the file at )?line 2, column 83\)$/ })
  const s = loadRunSettings({}, { DSN_NETWORK_KEY: KEY, DSN_NODEID: 'kitchen', DSN_HEARTBEAT_MS: '500', DSN_WHATEVER_ELSE: '1' })
  t.same(s.warnings, [
    'environment DSN_HEARTBEAT_MS is not a dsn setting and is ignored (dsn run --help lists them)',
    'environment DSN_NODEID is not a dsn setting and is ignored; did you mean DSN_NODE_ID? (dsn run --help lists them)',
    'environment DSN_WHATEVER_ELSE is not a dsn setting and is ignored (dsn run --help lists them)',
  ])
})
