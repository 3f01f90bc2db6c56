// Checks of the deploy files that need no board: systemd-analyze on the unit, the unit's
// hardening policy, the Ansible template against the unit, the playbook's syntax, the vault,
// and deploy.sh's own argument checks.
import t from 'tap'
import type { Test } from 'tap'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs'
import { createHash } from 'crypto'
import { tmpdir } from 'os'
import { join } from 'path'
import { run, runOk } from '../lab/run'
import { REPO_ROOT } from './boards'
import { REPO_UNIT } from './checks'

const ANSIBLE = join(REPO_ROOT, 'deploy', 'ansible')
const ROLE = join(ANSIBLE, 'roles', 'dsn')
const VAULT_PASSWORD = join(ANSIBLE, 'example-vault-password.EXAMPLE-ONLY.txt')
const unit = readFileSync(REPO_UNIT, 'utf8')
// Ansible keeps state under $HOME/.ansible: give it a throwaway home, not /root.
const ansibleHome = mkdtempSync(join(tmpdir(), 'dsn-ansible-home-'))
t.teardown(() => rmSync(ansibleHome, { recursive: true, force: true }))
const ansibleEnv: NodeJS.ProcessEnv = { ...process.env, HOME: ansibleHome, ANSIBLE_CONFIG: join(ANSIBLE, 'ansible.cfg') }
// The one complaint verify may make on a machine without Debian's nodejs.
const NO_NODE = /^dsn\.service: Command \/usr\/bin\/node is not executable: No such file or directory$/

async function verify(t: Test, file: string): Promise<{ code: number | null; problems: string[] }> {
  const r = await run('systemd-analyze', ['verify', file], { timeoutMs: 60_000 })
  const lines = (r.stdout + r.stderr).split('\n').filter((l) => l.trim() !== '')
  const tolerated = lines.filter((l) => NO_NODE.test(l))
  if (tolerated.length > 0) t.comment(`tolerated (no /usr/bin/node on this machine): ${tolerated.join('; ')}`)
  return { code: tolerated.length > 0 ? 0 : r.code, problems: lines.filter((l) => !NO_NODE.test(l)) }
}

function directive(key: string): string[] {
  return [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1])
}

t.test('systemd-analyze verify passes on deploy/systemd/dsn.service', async (t) => {
  const { code, problems } = await verify(t, REPO_UNIT)
  t.same(problems, [], 'no warnings or errors')
  t.equal(code, 0)
})

t.test('systemd-analyze verify would catch a broken unit (the check above can fail)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dsn-unit-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const broken = join(dir, 'dsn.service')
  writeFileSync(broken, unit.replace('MemoryMax=96M', 'MemoryMax=lots\nProtectSystm=strict'))
  const { problems } = await verify(t, broken)
  t.match(problems.join('\n'), /Invalid memory limit 'lots'/)
  t.match(problems.join('\n'), /Unknown key( name)? 'ProtectSystm'/)
})

t.test('systemd-analyze security rates the unit OK (exposure below 2.0)', async (t) => {
  const r = await run('systemd-analyze', ['security', '--offline=yes', '--no-pager', REPO_UNIT], { timeoutMs: 60_000 })
  const m = /Overall exposure level for dsn\.service: ([\d.]+)/.exec(r.stdout)
  t.ok(m, 'systemd-analyze security printed an overall exposure level', { output: r.stdout.slice(-500) + r.stderr })
  t.comment(`exposure: ${m?.[1]} (0 = fully locked down, 10 = unprotected)`)
  t.ok(m && Number(m[1]) < 2.0, `exposure ${m?.[1]} < 2.0`)
})

t.test('the unit runs the bundle with the memory flags, key from a credential, hardened', async (t) => {
  t.same(directive('ExecStart'), ['/usr/bin/node $DSN_NODE_FLAGS /opt/dsn/dsn.cjs run --config /etc/dsn/config.json'])
  t.ok(directive('Environment').includes('"DSN_NODE_FLAGS=--max-semi-space-size=1 --max-old-space-size=48 --optimize-for-size --v8-pool-size=1"'))
  t.same(directive('LoadCredential'), ['network-key:/etc/dsn/network-key'])
  t.ok(directive('Environment').includes('DSN_NETWORK_KEY_FILE=%d/network-key'))
  t.notMatch(unit, /^Environment=.*DSN_NETWORK_KEY=/m, 'no key in the unit')
  t.same(directive('User'), ['dsn'])
  t.same(directive('StateDirectory'), ['dsn'])
  t.same(directive('RuntimeDirectory'), ['dsn'])
  t.same(directive('MemoryMax'), ['96M'])
  t.same(directive('Restart'), ['on-failure'])
  t.same(directive('RestartPreventExitStatus'), ['2 4'], 'a bad config or key does not restart-loop')
  t.same(directive('ExecReload'), ['/bin/kill -HUP $MAINPID'], 'systemctl reload sends SIGHUP')
  t.same(directive('Wants'), ['network-online.target'])
  t.same(directive('After'), ['network-online.target'])
  t.same(directive('ProtectSystem'), ['strict'])
  t.same(directive('CapabilityBoundingSet'), [''])
  t.same(directive('RestrictAddressFamilies'), ['AF_INET AF_INET6 AF_UNIX AF_NETLINK'])
  t.ok(directive('SystemCallFilter').includes('@system-service'))
  for (const key of ['ProtectHome', 'PrivateTmp', 'NoNewPrivileges']) t.same(directive(key), ['yes'], key)
  t.same(directive('MemoryDenyWriteExecute'), [], 'MemoryDenyWriteExecute is not set: V8 needs a JIT')
})

t.test('the role\'s unit template renders, with the role defaults, to exactly deploy/systemd/dsn.service', async (t) => {
  const defaults = readFileSync(join(ROLE, 'defaults', 'main.yml'), 'utf8')
  const value = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(defaults)?.[1] ?? `<no ${name}>`
  const template = readFileSync(join(ROLE, 'templates', 'dsn.service.j2'), 'utf8')
  const rendered = template.replace(/\{\{ (dsn_\w+) \}\}/g, (_, name: string) => value(name))
  t.equal(rendered, unit)
  t.notMatch(rendered, /\{\{|\{%/, 'no Jinja left')
})

t.test('ansible-playbook --syntax-check', async (t) => {
  const env = ansibleEnv
  const r = await run(
    'ansible-playbook',
    ['--syntax-check', '-i', join(ANSIBLE, 'inventory.example.ini'), '--vault-password-file', VAULT_PASSWORD, join(ANSIBLE, 'playbook.yml')],
    { env, timeoutMs: 120_000 },
  )
  t.equal(r.code, 0, r.stdout + r.stderr)
  const inventory = await runOk('ansible-inventory', ['-i', join(ANSIBLE, 'inventory.example.ini'), '--graph', 'dsn'], { env, timeoutMs: 60_000 })
  t.match(inventory, /@sensors:[\s\S]*greenhouse[\s\S]*@monitors:[\s\S]*kitchen/, 'example inventory: groups sensors and monitors under dsn')
})

t.test('the example vault is encrypted, and the role knows its key to refuse it', async (t) => {
  const file = join(ANSIBLE, 'group_vars', 'all', 'vault.yml')
  t.match(readFileSync(file, 'utf8'), /^\$ANSIBLE_VAULT;1\.1;AES256\n/, 'vault.yml is encrypted')
  const plain = await runOk('ansible-vault', ['view', '--vault-password-file', VAULT_PASSWORD, file], { env: ansibleEnv, timeoutMs: 60_000 })
  const key = /vault_dsn_network_key: "([0-9a-f]{64})"/.exec(plain)?.[1] ?? ''
  t.match(key, /^[0-9a-f]{64}$/)
  const sha = /^dsn_example_key_sha256: ([0-9a-f]{64})$/m.exec(readFileSync(join(ROLE, 'defaults', 'main.yml'), 'utf8'))?.[1]
  t.equal(sha, createHash('sha256').update(key).digest('hex'), 'dsn_example_key_sha256 matches the example key')
  t.match(readFileSync(join(ANSIBLE, 'group_vars', 'all', 'main.yml'), 'utf8'), /^dsn_network_key: "\{\{ vault_dsn_network_key \}\}"$/m)
})

t.test('deploy.sh refuses bad arguments before touching any board', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dsn-args-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'short-key'), 'abc123\n')
  writeFileSync(join(dir, 'dsn.cjs'), '// never deployed: every case fails before\n')
  // unshare -n: even a bug that reached ssh could not send a packet anywhere.
  const deploy = (...args: string[]) =>
    run('unshare', ['-n', 'bash', join(REPO_ROOT, 'scripts', 'deploy.sh'), '--bundle', join(dir, 'dsn.cjs'), ...args], { timeoutMs: 60_000 })
  const cases: [string[], RegExp][] = [
    [[], /no board given: pass USER@HOST/],
    [['raspberrypi'], /'raspberrypi' is not USER@HOST/],
    [['--frobnicate', 'pi@x'], /unknown option --frobnicate/],
    [['-p', 'ssh', 'pi@x'], /-p wants a port number/],
    [['-i'], /option -i needs a value/],
    [['-k', join(dir, 'short-key'), 'pi@x'], /must hold 64 hex characters/],
    [['-k', join(dir, 'missing'), 'pi@x'], /key file .* does not exist \(make one: umask 077; node dist\/dsn\.cjs keygen/],
    [['-c', join(dir, 'missing.json'), 'pi@x'], /config file .* does not exist/],
  ]
  for (const [args, want] of cases) {
    const r = await deploy(...args)
    t.equal(r.code, 1, `exit 1 for ${args.join(' ') || '(no arguments)'}`)
    t.match(r.stderr, want)
  }
  const syntax = await run('bash', ['-n', join(REPO_ROOT, 'scripts', 'deploy.sh')])
  t.equal(syntax.code, 0, syntax.stderr)
})

t.test('deploy.sh builds dist/dsn.cjs with npm run build when it is missing', async (t) => {
  // A copy of the script in a stand-in checkout whose build just writes the file: the real
  // build is tested by the board tests, this proves deploy.sh calls it.
  const repo = mkdtempSync(join(tmpdir(), 'dsn-build-'))
  t.teardown(() => rmSync(repo, { recursive: true, force: true }))
  for (const sub of ['scripts', 'deploy/systemd', 'node_modules']) mkdirSync(join(repo, sub), { recursive: true })
  copyFileSync(join(REPO_ROOT, 'scripts', 'deploy.sh'), join(repo, 'scripts', 'deploy.sh'))
  copyFileSync(join(REPO_ROOT, 'deploy', 'config.example.json'), join(repo, 'deploy', 'config.example.json'))
  copyFileSync(REPO_UNIT, join(repo, 'deploy', 'systemd', 'dsn.service'))
  writeFileSync(join(repo, 'package.json'), JSON.stringify({ name: 'x', scripts: { build: 'mkdir -p dist && echo "// built" > dist/dsn.cjs' } }))
  const r = await run('unshare', ['-n', 'bash', join(repo, 'scripts', 'deploy.sh'), '-o', 'BatchMode=yes', 'pi@127.0.0.1'], { timeoutMs: 120_000 })
  t.match(r.stdout, 'dist/dsn.cjs is missing: building it with npm run build')
  t.equal(readFileSync(join(repo, 'dist', 'dsn.cjs'), 'utf8'), '// built\n')
  t.equal(r.code, 1, 'then fails to reach the (unreachable) board')
  t.match(r.stderr, /cannot log in to pi@127\.0\.0\.1 over ssh/)
})
