// A daemon without `http` does not pay for it: in the bundle, src/http is a lazily evaluated
// module, so `dsn run` without http never loads node:http (seen through Module._load, hooked by
// a preload script), and with http it does. Each daemon runs in a loopback-only namespace.
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { LineLog } from '../lab/lines'
import { runInLoopbackNamespace } from '../lab/one-host'
import { labAvailable } from '../lab/netns'
import { buildBundleCopy, ensureRuntimes, launcher } from '../bundle/bundle-helpers'

const PRELOAD = `
const Module = require('module')
const seen = new Set()
const load = Module._load
Module._load = function (request, ...rest) { seen.add(request); return load.call(this, request, ...rest) }
process.on('exit', () => process.stderr.write('MODULES ' + JSON.stringify([...seen]) + '\\n'))
`

async function modulesLoaded(bundle: string, dir: string, name: string, extra: Record<string, string>, node = process.execPath): Promise<string[]> {
  const env = {
    PATH: process.env.PATH,
    DSN_NETWORK_KEY: '4c'.repeat(32),
    DSN_NODE_ID: name,
    DSN_INTERFACE: 'lo',
    DSN_MDNS: 'false',
    DSN_SOCKET: path.join(dir, `${name}.sock`),
    DSN_CREDENTIAL_DIR: path.join(dir, name),
    ...extra,
  }
  const child = runInLoopbackNamespace('env', ['-u', 'NODE_OPTIONS', node, '-r', path.join(dir, 'preload.cjs'), bundle, 'run'], { env })
  const out = new LineLog(child.stdout, `${name} stdout`)
  const err = new LineLog(child.stderr, `${name} stderr`)
  const exit = new Promise((resolve) => child.once('exit', resolve))
  await out.waitFor(/"msg":"started"/, 30_000)
  child.kill('SIGTERM')
  await exit
  const line = await err.waitFor(/^MODULES /, 1000)
  return JSON.parse(line.slice('MODULES '.length)) as string[]
}

const available = labAvailable()
if (!available.ok) {
  t.fail(`the namespace lab cannot run here: ${available.reason}`)
} else {
  t.test('node:http is loaded only when http is configured', async (t) => {
    const bundle = buildBundleCopy(t)
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dsn-lazy-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    writeFileSync(path.join(dir, 'preload.cjs'), PRELOAD)
    const text = readFileSync(bundle, 'utf8')
    t.ok(text.includes('require("node:http")'), 'the HTTP code is in the one bundle file')

    const without = await modulesLoaded(bundle, dir, 'plain', {})
    t.ok(without.includes('node:dgram'), `the hook sees the bundle's requires: ${without.join(' ')}`)
    t.notOk(without.includes('node:http') || without.includes('http'), 'without http: node:http never loaded')
    const withHttp = await modulesLoaded(bundle, dir, 'web', { DSN_HTTP: '127.0.0.1:0' })
    t.ok(withHttp.includes('node:http'), 'with http: loaded')
    // The listener starts before `started` is logged, so this also runs it on Debian's Node 18.
    const problem = ensureRuntimes(['amd64'])
    if (problem) t.fail(`no Node 18 runtime: ${problem}`)
    else t.ok((await modulesLoaded(bundle, dir, 'web18', { DSN_HTTP: '127.0.0.1:0' }, launcher('amd64'))).includes('node:http'), 'with http on Node 18')
  })
}
