// What every deployed board must look like, whichever path (deploy.sh or Ansible) put dsn there.
import type { Test } from 'tap'
import { readFileSync } from 'fs'
import { join } from 'path'
import { Board, REPO_ROOT } from './boards'



export const REPO_UNIT = join(REPO_ROOT, 'deploy', 'systemd', 'dsn.service')
/** The unit's ExecStart=, with $DSN_NODE_FLAGS expanded as systemd does (split on whitespace). */
export const EXPECTED_ARGV = [
  '/usr/bin/node',
  '--max-semi-space-size=1',
  '--max-old-space-size=48',
  '--optimize-for-size',
  '--v8-pool-size=1',
  '/opt/dsn/dsn.cjs',
  'run',
  '--config',
  '/etc/dsn/config.json',
]

interface Expected {
  bundle: string
  key: string
}

// path, owner, group, mode
const LAYOUT: [string, string, string, string][] = [
  ['/opt/dsn', 'root', 'root', '755'],
  ['/opt/dsn/dsn.cjs', 'root', 'root', '644'],
  ['/etc/dsn', 'root', 'root', '755'],
  ['/etc/dsn/config.json', 'root', 'root', '644'],
  ['/etc/dsn/network-key', 'root', 'root', '600'],
  ['/etc/systemd/system/dsn.service', 'root', 'root', '644'],
  ['/usr/local/bin/dsn', 'root', 'root', '755'],
  // Made by systemd (here: the shim) from StateDirectory=, RuntimeDirectory=, LoadCredential=.
  ['/var/lib/dsn', 'dsn', 'dsn', '700'],
  ['/run/dsn', 'dsn', 'dsn', '750'],
  ['/run/credentials/dsn.service/network-key', 'dsn', 'dsn', '400'],
]

export async function checkInstalled(t: Test, board: Board, expected: Expected): Promise<void> {
  for (const [path, owner, group, mode] of LAYOUT) {
    const st = await board.stat(path)
    t.same(st && { owner: st.owner, group: st.group, mode: st.mode }, { owner, group, mode }, `${board.name}: ${path} ${owner}:${group} ${mode}`)
  }
  t.equal(await board.read('/opt/dsn/dsn.cjs'), readFileSync(expected.bundle, 'utf8'), `${board.name}: the bundle is the one deployed`)
  t.equal(await board.read('/etc/systemd/system/dsn.service'), readFileSync(REPO_UNIT, 'utf8'), `${board.name}: the unit is deploy/systemd/dsn.service`)
  t.equal(await board.read('/etc/dsn/network-key'), `${expected.key}\n`, `${board.name}: the network key`)
  const config = (await board.read('/etc/dsn/config.json')) ?? ''
  t.notMatch(config, expected.key, `${board.name}: the world-readable config does not hold the key`)
  t.notOk('networkKey' in JSON.parse(config), `${board.name}: config has no networkKey`)
  const link = await board.exec('readlink', ['/etc/systemd/system/multi-user.target.wants/dsn.service'])
  t.equal(link.stdout.trim(), '/etc/systemd/system/dsn.service', `${board.name}: enabled (WantedBy=multi-user.target link)`)
  const user = (await board.exec('getent', ['passwd', 'dsn'])).stdout.trim().split(':')
  t.same([user[5], user[6]], ['/var/lib/dsn', '/usr/sbin/nologin'], `${board.name}: system user dsn, no login`)
  t.ok(Number(user[2]) < 1000 && Number(user[2]) > 0, `${board.name}: dsn is a system uid (${user[2]})`)
}

/** The daemon runs exactly as the installed unit's ExecStart=, as user dsn, key via the credential. */
export async function checkService(t: Test, board: Board, key: string): Promise<number> {
  const svc = await board.service()
  if (!t.ok(svc, `${board.name}: dsn.service has a live main process`) || !svc) return 0
  const unit = (await board.read('/etc/systemd/system/dsn.service')) ?? ''
  t.match(unit, /^ExecStart=\/usr\/bin\/node \$DSN_NODE_FLAGS \/opt\/dsn\/dsn\.cjs run --config \/etc\/dsn\/config\.json$/m, `${board.name}: installed ExecStart=`)
  t.same(svc.argv, EXPECTED_ARGV, `${board.name}: the process's argv is ExecStart= with the memory flags`)
  const [, , uid, gid] = (await board.exec('getent', ['passwd', 'dsn'])).stdout.split(':')
  t.same([svc.uid, svc.gid], [Number(uid), Number(gid)], `${board.name}: runs as user and group dsn`)
  t.equal(svc.env.DSN_NETWORK_KEY_FILE, '/run/credentials/dsn.service/network-key', `${board.name}: key file via LoadCredential= (%d)`)
  t.equal(svc.env.STATE_DIRECTORY, '/var/lib/dsn', `${board.name}: STATE_DIRECTORY`)
  t.notOk('DSN_NETWORK_KEY' in svc.env, `${board.name}: the key is not in the environment`)
  t.notOk(Object.values(svc.env).some((v) => v.includes(key)), `${board.name}: no environment value holds the key`)
  return svc.pid
}

/** Wait until each board's `dsn status --json` lists every other board as a peer. */
export async function checkPeers(t: Test, boards: Board[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (const board of boards) {
    const want = boards.filter((b) => b !== board).map((b) => b.name).sort()
    let seen: string[] = []
    while (Date.now() < deadline) {
      const s = await board.status()
      seen = (s.json?.peers ?? []).map((p) => p.nodeId).filter((id) => id !== board.name).sort()
      if (want.every((w) => seen.includes(w))) break
      await new Promise((r) => setTimeout(r, 250))
    }
    t.same(seen, want, `${board.name}: dsn status --json lists ${want.join(', ')} as peers`)
  }
}

/** The shim's calls after `since` (an index into the log), as "argv" strings. */
export async function callsSince(board: Board, since: number): Promise<string[]> {
  return (await board.systemctlCalls()).slice(since).map((c) => (c.event ? `(${c.event})` : (c.argv ?? []).join(' ')))
}
