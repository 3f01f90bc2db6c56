// scripts/deploy.sh against real sshd on two test boards (network + mount namespaces, see
// boards.ts), from a controller namespace on the same lab bridge: first deploy, its failure
// messages, a second run that changes nothing, and the daemons started as the unit says.
import t from 'tap'
import { existsSync, writeFileSync } from 'fs'
import { execFileSync } from 'child_process'
import { join } from 'path'
import { labAvailable } from '../lab/netns'
import { createDeployLab, DeployLab, SHIM_NOTICE } from './boards'
import { testBundle, TestBundle } from './bundle'
import { callsSince, checkInstalled, checkPeers, checkService } from './checks'

const KEY = 'c0ffee'.repeat(10) + 'c0de'
const PORT = 2222 // not 22: proves -p reaches both ssh and scp

function hostHas(path: string): boolean {
  return existsSync(path)
}

function hostUser(): string {
  try {
    return execFileSync('getent', ['passwd', 'dsn'], { encoding: 'utf8' })
  } catch {
    return ''
  }
}

const available = labAvailable()
if (!available.ok) {
  t.fail(`the deploy tests need the namespace lab: ${available.reason}`)
} else {
  t.test('scripts/deploy.sh', async (t) => {
    const hostBefore = { etc: hostHas('/etc/dsn'), opt: hostHas('/opt/dsn'), lib: hostHas('/var/lib/dsn'), user: hostUser() }
    const d: DeployLab = await createDeployLab('dsndsh', [
      { name: 'pi-a', port: PORT },
      { name: 'pi-b', port: PORT },
    ])
    t.teardown(() => d.destroy())
    const [a, b] = d.boards
    const bundle: TestBundle = await testBundle(d.dir)
    t.comment(SHIM_NOTICE)
    t.comment(`bundle: ${bundle.note}`)

    const keyFile = join(d.dir, 'network-key')
    writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 })
    // No default route in the lab: name the interface (on a Pi the default route's is used).
    const config = join(d.dir, 'config.json')
    writeFileSync(config, JSON.stringify({ cluster: 'deploy-test', interface: 'eth0', heartbeatIntervalMs: 200, peerTimeoutMs: 1000 }, null, 2))
    const deploy = (...args: string[]) =>
      d.control('bash', ['scripts/deploy.sh', '-F', d.sshConfig, '-i', d.key, '-p', String(PORT), '--bundle', bundle.path, ...args])
    const target = (board: typeof a) => `root@${board.address}`

    await t.test('--help explains options and first-time key generation', async (t) => {
      const r = await d.control('bash', ['scripts/deploy.sh', '--help'])
      t.equal(r.code, 0)
      for (const want of [/keygen/, /--key-file/, /-i FILE/, /-p PORT/, /USER@HOST/, /0600/]) t.match(r.stdout, want)
    })

    await t.test('clear errors, and nothing installed, when it cannot deploy', async (t) => {
      const noKey = await deploy('-c', config, target(a))
      t.equal(noKey.code, 1)
      t.match(noKey.stderr, /has no network key yet: pass --key-file FILE on its first deploy/)
      const wrongPort = await d.control('bash', ['scripts/deploy.sh', '-F', d.sshConfig, '-i', d.key, '-p', '2223', '-k', keyFile, '--bundle', bundle.path, target(a)])
      t.equal(wrongPort.code, 1)
      t.match(wrongPort.stderr, /cannot log in to root@10\.47\.0\.2 over ssh \(port 2223\)/)
      const noIdentity = await d.control('bash', ['scripts/deploy.sh', '-F', d.sshConfig, '-p', String(PORT), '-k', keyFile, '--bundle', bundle.path, target(a)])
      t.equal(noIdentity.code, 1, 'without -i the board refuses the login')
      t.match(noIdentity.stderr, /cannot log in/)
      t.equal(await a.stat('/etc/dsn'), null, 'no /etc/dsn on the board')
      const asked = await callsSince(a, 0)
      t.ok(asked.every((c) => /^is-(enabled|active) dsn\.service$/.test(c)), `systemctl only queried, never changed: ${asked.join(', ')}`)
    })

    await t.test('first deploy of one board installs, enables, starts and waits for it', async (t) => {
      const before = (await a.systemctlCalls()).length
      const r = await deploy('-k', keyFile, '-c', config, target(a))
      t.comment(r.stdout.trim())
      t.equal(r.code, 0, r.stderr)
      for (const path of ['/opt/dsn/dsn.cjs', '/etc/dsn/config.json', '/etc/dsn/network-key', '/etc/systemd/system/dsn.service', '/usr/local/bin/dsn']) {
        t.match(r.stdout, `10.47.0.2: changed ${path}`)
      }
      t.match(r.stdout, /10\.47\.0\.2: dsn is up: node pi-a/)
      t.same(await callsSince(a, before), [
        'is-enabled dsn.service', 'is-active dsn.service', // the probe
        'daemon-reload', 'is-enabled dsn.service', 'enable dsn.service', 'restart dsn.service', '(started)',
      ], 'systemctl was asked: daemon-reload, enable, restart')
      await checkInstalled(t, a, { bundle: bundle.path, key: KEY })
      await checkService(t, a, KEY)
      t.notMatch(r.stdout + r.stderr, KEY, 'the key is never printed')
    })

    await t.test('several boards in one run: the deployed one is unchanged, the new one installed', async (t) => {
      const before = (await a.systemctlCalls()).length
      const pid = (await a.service())?.pid
      const r = await deploy('-k', keyFile, '-c', config, target(a), target(b))
      t.comment(r.stdout.trim())
      t.equal(r.code, 0, r.stderr)
      t.match(r.stdout, '10.47.0.2: unchanged')
      t.match(r.stdout, '10.47.0.3: changed /opt/dsn/dsn.cjs')
      t.same(await callsSince(a, before), ['is-enabled dsn.service', 'is-active dsn.service'], 'pi-a: only the probe')
      t.equal((await a.service())?.pid, pid, 'pi-a: same daemon process')
      await checkInstalled(t, b, { bundle: bundle.path, key: KEY })
      await checkService(t, b, KEY)
    })

    await t.test('the two boards see each other', async (t) => {
      await checkPeers(t, [a, b])
    })

    await t.test('a second run changes nothing', async (t) => {
      const before = await Promise.all(d.boards.map(async (x) => ({ calls: (await x.systemctlCalls()).length, pid: (await x.service())?.pid })))
      const stamp = async () => (await a.sh('stat -c %Y /opt/dsn/dsn.cjs /etc/dsn/config.json /etc/dsn/network-key /etc/systemd/system/dsn.service'))
      const mtimes = await stamp()
      const r = await deploy('-c', config, target(a), target(b)) // no -k: the key on the board is kept
      t.comment(r.stdout.trim())
      t.equal(r.code, 0, r.stderr)
      t.match(r.stdout, '10.47.0.2: unchanged')
      t.match(r.stdout, '10.47.0.3: unchanged')
      t.notMatch(r.stdout, /: changed /)
      for (const [i, x] of d.boards.entries()) {
        t.same(await callsSince(x, before[i].calls), ['is-enabled dsn.service', 'is-active dsn.service'], `${x.name}: no reload, no restart`)
        t.equal((await x.service())?.pid, before[i].pid, `${x.name}: same daemon process`)
      }
      t.equal(await stamp(), mtimes, 'no file rewritten')
    })

    await t.test('a config the daemon rejects: deploy.sh says so and shows the service status', async (t) => {
      const bad = join(d.dir, 'bad.json')
      writeFileSync(bad, JSON.stringify({ nodeId: 'not a valid id', interface: 'eth0' }))
      const r = await deploy('-c', bad, '--wait', '3', target(a))
      t.equal(r.code, 1)
      t.match(r.stderr, /dsn on 10\.47\.0\.2 did not answer 'dsn status' within 3s/)
      t.match(r.stderr, /systemctl status dsn on 10\.47\.0\.2/)
      t.match(r.stderr, /nodeId/, 'the daemon\'s own complaint is shown')
      const good = await deploy('-c', config, target(a))
      t.equal(good.code, 0, good.stderr)
      t.match(good.stdout, '10.47.0.2: changed /etc/dsn/config.json')
      t.match(good.stdout, /changed restarted/)
      t.notMatch(good.stdout, /daemon-reload/, 'unit unchanged: no daemon-reload')
    })

    await t.test('a config holding the key is refused before any board is touched', async (t) => {
      const leaky = join(d.dir, 'leaky.json')
      writeFileSync(leaky, JSON.stringify({ networkKey: KEY }))
      const before = (await a.systemctlCalls()).length
      const r = await deploy('-c', leaky, target(a))
      t.equal(r.code, 1)
      t.match(r.stderr, /holds "networkKey"/)
      t.same(await callsSince(a, before), [])
    })

    await t.test('nothing landed on this machine itself', async (t) => {
      const now = { etc: hostHas('/etc/dsn'), opt: hostHas('/opt/dsn'), lib: hostHas('/var/lib/dsn'), user: hostUser() }
      t.same(now, hostBefore, 'no /etc/dsn, /opt/dsn, /var/lib/dsn or dsn user appeared here')
    })
  })
}
