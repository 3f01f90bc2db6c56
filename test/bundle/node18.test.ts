// The bundle on Debian bookworm's own nodejs 18.20 (what `apt install nodejs` gives on
// Raspberry Pi OS): amd64 natively, arm64 and armhf under qemu-user.
import t from 'tap'
import * as path from 'node:path'
import { buildBundleCopy, ensureRuntimes, launcher, run, type Arch } from './bundle-helpers'

const ARCHES: Arch[] = ['amd64', 'arm64', 'armhf']
const problem = ensureRuntimes(ARCHES)
if (problem) {
  // A silent skip would hide that Node 18 was never tried.
  t.fail(`cannot run the Node 18 check: ${problem}`)
} else {
  const bundle = buildBundleCopy(t)
  for (const arch of ARCHES) {
    t.test(`node 18 ${arch}`, async (t) => {
      const node = launcher(arch)
      const version = await run(node, ['-p', 'process.version + " " + process.arch'])
      t.match(version.stdout, /^v18\.\d+\.\d+ (x64|arm64|arm)\n$/, version.stdout.trim())
      const help = await run(node, [bundle, '--help'])
      t.equal(help.code, 0, help.stderr)
      t.match(help.stdout, /Usage: dsn \[options\] <command>/)
      t.match((await run(node, [bundle, 'run', '--help'])).stdout, /DSN_NETWORK_KEY_FILE/)
      const key = await run(node, [bundle, 'keygen'])
      t.match(key.stdout, /^[0-9a-f]{64}\n$/, 'keygen')
      const sock = path.join(path.dirname(bundle), `none-${arch}.sock`)
      const down = await run(node, [bundle, 'peers', '--socket', sock])
      t.same([down.code, down.stderr.split(':')[0]], [3, 'dsn peers'], 'no daemon: exit 3 (node:net under Node 18)')
      const noKey = await run(node, [bundle, 'run', '--socket', sock])
      t.equal(noKey.code, 4, 'no key: exit 4')
    })
  }
}
