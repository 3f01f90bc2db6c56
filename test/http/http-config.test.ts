// The `http` settings: address forms, loopback vs token, token sources and their precedence,
// and errors that name the field (config file or environment variable).
import t from 'tap'
import * as path from 'node:path'
import { isLoopback, loadHttpSettings, parseListen } from '../../src/daemon/http-config'
import { loadIdentitySettings, loadRunSettings } from '../../src/daemon/run-config'

const KEY = 'c3'.repeat(32)
const TOKEN = 'tok-' + 'a1'.repeat(10)

t.test('address forms', async (t) => {
  t.same(parseListen('127.0.0.1:9464', 'x'), { host: '127.0.0.1', port: 9464 })
  t.same(parseListen('9464', 'x'), { host: '127.0.0.1', port: 9464 }, 'a port alone is loopback')
  t.same(parseListen('[::1]:9464', 'x'), { host: '::1', port: 9464 })
  t.same(parseListen('0.0.0.0:80', 'x'), { host: '0.0.0.0', port: 80 })
  t.same(parseListen('localhost:0', 'x'), { host: 'localhost', port: 0 })
  for (const bad of ['', 'abc', 'host.lan:9464', '127.0.0.1', '127.0.0.1:99999', '::1:9464', '[127.0.0.1]:80', '1.2.3:80', 'http://127.0.0.1:9464']) {
    t.throws(() => parseListen(bad, 'config file f: http'), { code: 'DSN_BAD_CONFIG', message: /^config file f: http: / }, JSON.stringify(bad))
  }
  t.ok(isLoopback('127.0.0.1') && isLoopback('127.3.2.1') && isLoopback('::1') && isLoopback('localhost'))
  t.notOk(isLoopback('0.0.0.0') || isLoopback('10.0.0.1') || isLoopback('::'))
})

t.test('off unless set; loopback needs no token, anything else does', async (t) => {
  t.equal(loadHttpSettings({}, undefined, {}), undefined)
  t.same(loadHttpSettings({ http: '127.0.0.1:9464' }, 'f', {}), { host: '127.0.0.1', port: 9464, token: undefined, loopback: true })
  t.throws(() => loadHttpSettings({ http: '0.0.0.0:9464' }, 'f', {}), { code: 'DSN_BAD_CONFIG', message: /^config file f: http: 0\.0\.0\.0 is not a loopback address: set httpToken/ })
  t.throws(() => loadHttpSettings({}, 'f', { http: '10.0.0.5:9464' }), { message: /^environment DSN_HTTP: 10\.0\.0\.5 is not a loopback/ })
  t.same(loadHttpSettings({ http: '0.0.0.0:9464', httpToken: TOKEN }, 'f', {}), { host: '0.0.0.0', port: 9464, token: TOKEN, loopback: false })
  t.equal(loadHttpSettings({ http: '127.0.0.1:1' }, 'f', { httpToken: TOKEN })?.token, TOKEN, 'a token on loopback is checked too')
  t.throws(() => loadHttpSettings({ http: 9464 }, 'f', {}), { message: 'config file f: http: must be a non-empty string' })
  t.throws(() => loadHttpSettings({ http: '0.0.0.0:1', httpToken: 'short' }, 'f', {}), { message: /^config file f: httpToken: the token must be 16-256 printable ASCII/ })
  t.throws(() => loadHttpSettings({ http: '0.0.0.0:1' }, 'f', { httpToken: 'has a space in it, long enough' }), { message: /^environment DSN_HTTP_TOKEN: the token must be/ })
})

t.test('token sources: environment beats file, a file relative to the config, one per source', async (t) => {
  const dir = t.testdir({ 'http.token': TOKEN + '\n', 'other.token': 'other-' + 'b2'.repeat(10) })
  const cfg = path.join(dir, 'dsn.json')
  t.equal(loadHttpSettings({ http: '0.0.0.0:1', httpTokenFile: 'http.token' }, cfg, {})?.token, TOKEN, 'trimmed, relative to the config file')
  t.equal(loadHttpSettings({ http: '0.0.0.0:1', httpTokenFile: 'http.token' }, cfg, { httpTokenFile: path.join(dir, 'other.token') })?.token, 'other-' + 'b2'.repeat(10))
  t.equal(loadHttpSettings({ http: '0.0.0.0:1', httpToken: 'x'.repeat(20) }, cfg, { httpToken: TOKEN })?.token, TOKEN)
  t.throws(() => loadHttpSettings({ http: '0.0.0.0:1', httpToken: TOKEN, httpTokenFile: 'http.token' }, cfg, {}), { message: `config file ${cfg}: set only one of httpToken and httpTokenFile` })
  t.throws(() => loadHttpSettings({ http: '0.0.0.0:1' }, cfg, { httpToken: TOKEN, httpTokenFile: 'x' }), { message: 'environment: set only one of DSN_HTTP_TOKEN and DSN_HTTP_TOKEN_FILE' })
  t.throws(() => loadHttpSettings({ http: '0.0.0.0:1', httpTokenFile: 'missing' }, cfg, {}), { message: /^config file .*: httpTokenFile .*missing: cannot read the token \(ENOENT\)$/ })
})

t.test('through dsn run settings: file fields and DSN_HTTP*, not passed to the node config', async (t) => {
  const dir = t.testdir({ 'dsn.json': JSON.stringify({ networkKey: KEY, http: '127.0.0.1:9464', httpTokenFile: 'http.token' }), 'http.token': TOKEN })
  const cfg = path.join(dir, 'dsn.json')
  const s = loadRunSettings({ config: cfg }, {})
  t.same(s.http, { host: '127.0.0.1', port: 9464, token: TOKEN, loopback: true })
  t.equal(loadRunSettings({ config: cfg }, { DSN_HTTP: '0.0.0.0:9000' }).http?.port, 9000, 'DSN_HTTP wins')
  t.equal(loadRunSettings({}, { DSN_NETWORK_KEY: KEY }).http, undefined, 'off by default')
  t.equal(loadIdentitySettings({ config: cfg }, { DSN_NODE_ID: 'n9' }).nodeId, 'n9', 'dsn id accepts a config with http fields')
})
