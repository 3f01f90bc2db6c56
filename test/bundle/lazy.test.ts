// What each way of running dist/dsn.cjs evaluates, from the build's own metafile (build.mjs
// --analyze): the client commands must not evaluate the mesh node, CBOR, crypto or mDNS.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { ROOT } from './bundle-helpers'

const dir = mkdtempSync(path.join(os.tmpdir(), 'dsn-lazy-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const out = execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs'), '--bundle-only', '--analyze', '--loads-json', '--outfile', path.join(dir, 'dsn.cjs')], { cwd: ROOT }).toString()
const loads = JSON.parse(out.trim().split('\n').pop() as string) as Record<string, { bytes: number; modules: string[] }>

const heavy = /^src\/(node\/dsnode|core|seal|wire|discovery|net)\/|node_modules\/(cbor-x|@noble|multicast-dns|dns-packet)\//

t.test('client commands evaluate only the CLI and the control-socket client', async (t) => {
  for (const way of ['dsn set/get/del/peers/status/watch', 'dsn set --stdin']) {
    const modules = loads[way].modules
    t.same(modules.filter((m) => heavy.test(m)), [], `${way}: ${modules.length} modules, ${loads[way].bytes} bytes`)
    t.ok(modules.includes('src/daemon/control-client.ts'), `${way}: has the socket client`)
  }
})

t.test('the daemon evaluates mDNS only when it is on; the library does not evaluate the CLI', async (t) => {
  t.notOk(loads['dsn run, mdns off'].modules.some((m) => /multicast-dns|dns-packet/.test(m)), 'mdns off: no mDNS code')
  t.ok(loads['dsn run (defaults: mdns on, no MQTT/HTTP)'].modules.includes('src/node/dsnode.ts'))
  t.notOk(loads["require('dsn.cjs') (the library)"].modules.some((m) => m.startsWith('src/cli/') && m !== 'src/cli/bundle.ts'), 'the library: no CLI')
})
