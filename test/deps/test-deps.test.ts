// scripts/test-deps.sh, run against stub dpkg-query/apt-get/id on a PATH of our own, so every
// path (missing packages as root, not root, no apt, apt failing, no dpkg) is exercised without
// touching the machine's packages. The real install is what `npm test` does as its pretest.
import { execFileSync, spawnSync } from 'child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'fs'
import { tmpdir } from 'os'
import { join, resolve } from 'path'
import t from 'tap'

const SCRIPT = resolve(__dirname, '..', '..', 'scripts', 'test-deps.sh')
const LISTED = readFileSync(SCRIPT, 'utf8').match(/^PACKAGES=\(\n([\s\S]*?)^\)/m)![1]
  .split('\n').map((l) => l.trim().split(/\s+/)[0]).filter((p) => p && !p.startsWith('#'))
// What the script uses besides the stubs; linked into the stub PATH from the real one.
const REAL_TOOLS = ['bash', 'dirname', 'tail', 'mktemp', 'chmod', 'rm', 'cat', 'grep', 'sh', 'mkdir', 'touch']

const STUB_DPKG_QUERY = `#!/bin/sh
# dpkg-query -W -f=FORMAT PKG: installed when listed in $FAKE_STATE
pkg=$3
if grep -qx "$pkg" "$FAKE_STATE"; then printf 'install ok installed'; exit 0; fi
echo "dpkg-query: no packages found matching $pkg" >&2; exit 1
`
const STUB_APT_GET = `#!/bin/sh
echo "$*" >> "$FAKE_CALLS"
# The guard must be in place while packages install.
if [ -x /usr/sbin/policy-rc.d ]; then /usr/sbin/policy-rc.d; echo "guard $?" >> "$FAKE_CALLS"; else echo "guard none" >> "$FAKE_CALLS"; fi
case "$*" in
  *update*) echo "Hit:1 http://deb.debian.org/debian bookworm InRelease"; exit 0 ;;
esac
if [ -n "$FAKE_APT_FAIL" ]; then echo "E: Unable to locate package $FAKE_APT_FAIL"; exit 100; fi
for a in "$@"; do case "$a" in -*|install) ;; *) echo "$a" >> "$FAKE_STATE"; echo "Setting up $a ..." ;; esac; done
`
const STUB_RUNTIMES = `#!/bin/sh
mkdir -p "$1/bin"; shift
for a in "$@"; do printf '#!/bin/sh\\n' > "$NODE_RUNTIMES_DIR/bin/node18-$a"; chmod 755 "$NODE_RUNTIMES_DIR/bin/node18-$a"; done
echo "runtimes built" >&2
`

interface Setup {
  uid?: number
  installed?: string[]
  apt?: boolean
  dpkg?: boolean
  aptFail?: string
  runtimes?: boolean
  runtimeTool?: boolean
}

function sandbox(t: { teardown(fn: () => void): void }, s: Setup) {
  const dir = mkdtempSync(join(tmpdir(), 'dsn-test-deps-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  for (const tool of REAL_TOOLS) symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(bin, tool))
  const stub = (name: string, text: string) => {
    writeFileSync(join(bin, name), text)
    chmodSync(join(bin, name), 0o755)
  }
  stub('id', `#!/bin/sh\necho ${s.uid ?? 0}\n`)
  if (s.dpkg !== false) stub('dpkg-query', STUB_DPKG_QUERY)
  if (s.apt !== false) stub('apt-get', STUB_APT_GET)
  const state = join(dir, 'state')
  writeFileSync(state, (s.installed ?? LISTED).join('\n') + '\n')
  const runtimes = join(dir, 'runtimes')
  if (s.runtimes !== false) {
    mkdirSync(join(runtimes, 'bin'), { recursive: true })
    for (const a of ['amd64', 'arm64', 'armhf']) writeFileSync(join(runtimes, 'bin', `node18-${a}`), '#!/bin/sh\n', { mode: 0o755 })
  }
  const tool = join(dir, 'setup-node-runtimes.sh')
  if (s.runtimeTool !== false) writeFileSync(tool, STUB_RUNTIMES)
  const calls = join(dir, 'calls')
  const r = spawnSync(join(bin, 'bash'), [SCRIPT], {
    encoding: 'utf8',
    env: {
      PATH: bin, FAKE_STATE: state, FAKE_CALLS: calls, FAKE_APT_FAIL: s.aptFail ?? '',
      NODE_RUNTIMES_DIR: runtimes, NODE_RUNTIME_TOOL: tool, DSN_TEST_DEPS_LOG: join(dir, 'apt.log'),
    },
  })
  const aptCalls = existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : []
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, aptCalls, installed: () => readFileSync(state, 'utf8').trim().split('\n') }
}

const without = (...drop: string[]) => LISTED.filter((p) => !drop.includes(p))

t.test('the package list holds what the tests use', async (t) => {
  for (const p of ['nftables', 'iproute2', 'openssh-server', 'openssh-client', 'ansible', 'python3-zeroconf', 'avahi-daemon', 'avahi-utils', 'dbus', 'chromium', 'prometheus', 'mosquitto', 'mosquitto-clients', 'netcat-openbsd', 'util-linux', 'systemd', 'procps']) {
    t.ok(LISTED.includes(p), p)
  }
})

t.test('everything present: one line, no apt-get at all', async (t) => {
  const r = sandbox(t, {})
  t.equal(r.code, 0, r.stderr)
  t.equal(r.stdout, '')
  t.match(r.stderr, /^test-deps: all \d+ Debian packages and the Node 18 runtimes are present\n$/)
  t.same(r.aptCalls, [])
})

t.test('root, packages missing: apt-get update, then install exactly those, behind the guard', async (t) => {
  const r = sandbox(t, { installed: without('avahi-daemon', 'mosquitto') })
  t.equal(r.code, 0, r.stderr)
  t.same(r.stderr.trim().split('\n'), [`test-deps: installing avahi-daemon mosquitto (apt output in ${r.stderr.match(/in (\S+)\)/)![1]})`])
  t.equal(r.aptCalls[0], 'update -q', 'update first')
  t.equal(r.aptCalls[2], 'install -y -q --no-install-recommends avahi-daemon mosquitto', 'then only the missing ones')
  t.same([r.aptCalls[1], r.aptCalls[3]], ['guard 101', 'guard 101'], 'policy-rc.d says "do not start" during apt-get')
  t.ok(r.installed().includes('avahi-daemon') && r.installed().includes('mosquitto'))
})

t.test('not root: names the packages and the command, fails, runs no apt-get', async (t) => {
  const r = sandbox(t, { uid: 1000, installed: without('ansible', 'chromium') })
  t.equal(r.code, 1)
  t.match(r.stderr, /missing Debian packages: ansible chromium\. Install them as root \(sudo apt-get update && sudo apt-get install -y --no-install-recommends ansible chromium\), or run npm test as root/)
  t.same(r.aptCalls, [])
})

t.test('no apt-get: names the packages, fails', async (t) => {
  const r = sandbox(t, { apt: false, installed: without('prometheus') })
  t.equal(r.code, 1)
  t.match(r.stderr, /missing Debian packages: prometheus, and no apt-get to install them with/)
})

t.test('apt-get fails: its output is printed, with what to install', async (t) => {
  const r = sandbox(t, { installed: without('dbus'), aptFail: 'dbus' })
  t.equal(r.code, 1)
  t.match(r.stderr, /E: Unable to locate package dbus/, "apt's own error is shown")
  t.match(r.stderr, /apt-get could not install dbus \(log above\)\. Fix apt, or install them yourself: apt-get update && apt-get install -y --no-install-recommends dbus/)
})

t.test('not Debian (no dpkg-query): lists every package, fails', async (t) => {
  const r = sandbox(t, { dpkg: false })
  t.equal(r.code, 1)
  t.match(r.stderr, /not a Debian system/)
  t.match(r.stderr, LISTED.join(' '))
})

t.test('Node 18 runtimes missing: built as root, a clear failure otherwise', async (t) => {
  const root = sandbox(t, { runtimes: false })
  t.equal(root.code, 0, root.stderr)
  t.match(root.stderr, /^test-deps: setting up Debian's Node 18 runtimes \(amd64 arm64 armhf\) in \S+ \(log in \S+\)\n$/)
  const user = sandbox(t, { uid: 1000, runtimes: false })
  t.equal(user.code, 1)
  t.match(user.stderr, /Node 18 runtimes \(amd64 arm64 armhf\) in \S+ are missing: run as root: bash \S+setup-node-runtimes\.sh/)
  const noTool = sandbox(t, { runtimes: false, runtimeTool: false })
  t.equal(noTool.code, 1)
  t.match(noTool.stderr, /setup-node-runtimes\.sh \(which builds them\) is not there/)
})
