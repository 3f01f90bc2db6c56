// deploy/ansible/playbook.yml against real sshd on two test boards (network + mount
// namespaces, see boards.ts) from a controller namespace on the lab bridge: the example-key
// guard, a rolling first run, the daemons started as the unit says, and a second run with
// changed=0.
import t from 'tap'
import { writeFileSync } from 'fs'
import { join } from 'path'
import { labAvailable } from '../lab/netns'
import { runOk } from '../lab/run'
import { createDeployLab, DeployLab, REPO_ROOT, SHIM_NOTICE } from './boards'
import { testBundle, TestBundle } from './bundle'
import { callsSince, checkInstalled, checkPeers, checkService } from './checks'

const ANSIBLE = join(REPO_ROOT, 'deploy', 'ansible')
const VAULT_PASSWORD = join(ANSIBLE, 'example-vault-password.EXAMPLE-ONLY.txt')

/** host -> {ok, changed, unreachable, failed} from the PLAY RECAP. */
function recap(stdout: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {}
  for (const m of stdout.matchAll(/^(\S+)\s+:\s+(ok=.*)$/gm)) {
    out[m[1]] = Object.fromEntries([...m[2].matchAll(/(\w+)=(\d+)/g)].map((f) => [f[1], Number(f[2])]))
  }
  return out
}

const available = labAvailable()
if (!available.ok) {
  t.fail(`the deploy tests need the namespace lab: ${available.reason}`)
} else {
  t.test('ansible-playbook deploy/ansible/playbook.yml', async (t) => {
    const d: DeployLab = await createDeployLab('dsnans', [{ name: 'pi-a' }, { name: 'pi-b' }])
    t.teardown(() => d.destroy())
    const [a, b] = d.boards
    const bundle: TestBundle = await testBundle(d.dir)
    t.comment(SHIM_NOTICE)
    t.comment(`bundle: ${bundle.note}`)
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: d.dir, ANSIBLE_CONFIG: join(ANSIBLE, 'ansible.cfg'), ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0' }
    delete env.NODE_OPTIONS
    const key = (await runOk('ansible-vault', ['view', '--vault-password-file', VAULT_PASSWORD, join(ANSIBLE, 'group_vars', 'all', 'vault.yml')], { env }))
      .match(/vault_dsn_network_key: "([0-9a-f]{64})"/)?.[1] ?? ''
    t.match(key, /^[0-9a-f]{64}$/, 'the example vault decrypts with the example password')

    // Raspberry Pi OS has NetworkManager; pi-b gets the Wi-Fi settings although the lab has no wlan*.
    await b.sh('mkdir -p /etc/NetworkManager/conf.d')
    const inventory = join(d.dir, 'inventory.ini')
    writeFileSync(
      inventory,
      [
        '[sensors]',
        `pi-a ansible_host=${a.address} dsn_interface=${a.address}`,
        '[monitors]',
        `pi-b ansible_host=${b.address} dsn_interface=${b.address} dsn_wifi_powersave_off=true`,
        '[dsn:children]',
        'sensors',
        'monitors',
        '[dsn:vars]',
        'ansible_user=root',
        `ansible_ssh_private_key_file=${d.key}`,
        `ansible_ssh_common_args='-F ${d.sshConfig}'`,
        '',
      ].join('\n'),
    )
    const extra = JSON.stringify({ dsn_bundle_src: bundle.path, dsn_health_timeout_s: 20, dsn_config_extra: { heartbeatIntervalMs: 200, peerTimeoutMs: 1000 } })
    const playbook = (...args: string[]) =>
      d.control('ansible-playbook', ['-i', inventory, 'deploy/ansible/playbook.yml', '--vault-password-file', VAULT_PASSWORD, '-e', extra, ...args], { env })

    await t.test('the example vault key is refused unless allowed, before any board changes', async (t) => {
      const r = await playbook()
      t.not(r.code, 0)
      t.match(r.stdout, /dsn_network_key is the EXAMPLE key committed with this repository/)
      t.match(r.stdout, /NO MORE HOSTS LEFT|pi-b/, 'the rollout stops at the first failing board')
      for (const x of d.boards) t.equal(await x.stat('/etc/dsn'), null, `${x.name}: nothing installed`)
      t.notMatch(r.stdout + r.stderr, key, 'the key is never printed')
    })

    await t.test('first run: rolling, one board at a time, each health-checked', async (t) => {
      const r = await playbook('-e', 'dsn_allow_example_key=true')
      t.comment(r.stdout.split('\n').filter((l) => /^(PLAY|RUNNING HANDLER|changed|fatal)|dsn is up|\s:\s+ok=/.test(l)).join('\n'))
      t.equal(r.code, 0, r.stderr + r.stdout.slice(-3000))
      const rc = recap(r.stdout)
      for (const x of ['pi-a', 'pi-b']) {
        t.equal(rc[x]?.failed, 0, `${x}: failed=0`)
        t.equal(rc[x]?.unreachable, 0, `${x}: unreachable=0`)
        t.ok(rc[x]?.changed > 0, `${x}: changed=${rc[x]?.changed}`)
      }
      const aHealthy = r.stdout.indexOf('"msg": "dsn is up on pi-a')
      const bFirst = r.stdout.search(/^(ok|changed): \[pi-b\]/m)
      t.ok(aHealthy > 0 && bFirst > aHealthy, 'serial: pi-a was up and health-checked before pi-b was touched')
      t.notMatch(r.stdout + r.stderr, key, 'the key is never printed')
      for (const x of d.boards) {
        await checkInstalled(t, x, { bundle: bundle.path, key })
        await checkService(t, x, key)
        const asked = await callsSince(x, 0)
        t.ok(asked.includes('daemon-reload') && asked.includes('enable dsn.service'), `${x.name}: systemctl asked for daemon-reload and enable (${asked.join(', ')})`)
        const config = JSON.parse((await x.read('/etc/dsn/config.json')) ?? '{}')
        t.same(config, { nodeId: x.name, cluster: 'default', logLevel: 'info', interface: x.address, heartbeatIntervalMs: 200, peerTimeoutMs: 1000 }, `${x.name}: config from inventory and role defaults`)
      }
    })

    await t.test('Wi-Fi power saving off: on where asked, absent where no wlan* exists', async (t) => {
      t.comment('the lab has no wlan* interface, so `iw ... set power_save off` has nothing to act on now; the persistent settings are checked')
      const nm = '/etc/NetworkManager/conf.d/dsn-wifi-powersave-off.conf'
      const udev = '/etc/udev/rules.d/70-dsn-wifi-powersave-off.rules'
      t.match(await b.read(nm), /^wifi\.powersave = 2$/m, 'pi-b: NetworkManager wifi.powersave = 2')
      t.match(await b.read(udev), /KERNEL=="wlan\*", RUN\+="\/usr\/sbin\/iw dev \$name set power_save off"/, 'pi-b: udev rule for wlan*')
      t.same(await b.stat(udev), { owner: 'root', group: 'root', mode: '644', type: 'regular file' })
      t.equal(await a.stat(udev), null, 'pi-a (no wlan*): no udev rule')
    })

    await t.test('the two boards see each other', async (t) => {
      await checkPeers(t, [a, b])
    })

    await t.test('second run: changed=0, no reload, no restart', async (t) => {
      const before = await Promise.all(d.boards.map(async (x) => ({ calls: (await x.systemctlCalls()).length, pid: (await x.service())?.pid })))
      const r = await playbook('-e', 'dsn_allow_example_key=true')
      t.equal(r.code, 0, r.stderr + r.stdout.slice(-3000))
      const rc = recap(r.stdout)
      t.comment(r.stdout.split('\n').filter((l) => /\s:\s+ok=/.test(l)).join('\n'))
      for (const [i, x] of d.boards.entries()) {
        t.equal(rc[x.name]?.changed, 0, `${x.name}: changed=0`)
        t.equal(rc[x.name]?.failed, 0, `${x.name}: failed=0`)
        const asked = await callsSince(x, before[i].calls)
        t.ok(asked.every((c) => /^(show|is-enabled) dsn\.service( -l)?$/.test(c)), `${x.name}: systemctl only queried (${asked.join(', ')})`)
        t.equal((await x.service())?.pid, before[i].pid, `${x.name}: same daemon process`)
      }
    })
  })
}
