// Test boards for the deploy tests. Each board is a lab host (its own network namespace on the
// lab bridge, from test/lab) plus its own mount and UTS namespace: private overlays of /etc,
// /opt, /var, /root and /usr/local, a private /run and /tmp, its own host name, and a real
// sshd as its only service. Lab host 0 is the controller that runs deploy.sh and Ansible, so
// every ssh connection stays on the lab bridge: nothing can leave through the machine's own
// interfaces, and nothing the deploy writes lands in the machine's own /etc or /opt.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'fs'
import { tmpdir } from 'os'
import { join, resolve } from 'path'
import { createLab, Lab } from '../lab/netns'
import { LineLog } from '../lab/lines'
import { run, RunOptions, RunResult, runOk } from '../lab/run'

export const REPO_ROOT = resolve(__dirname, '..', '..')
/** Recording systemctl, bind-mounted over /usr/bin/systemctl inside each board only. */
export const SYSTEMCTL_SHIM = resolve(__dirname, 'fixtures', 'systemctl')
export const SHIM_NOTICE =
  'systemd is not PID 1 in this test: on the boards, systemctl is a recording shim ' +
  '(test/deploy/fixtures/systemctl) that logs every call to /run/systemctl-shim/calls.log and, on ' +
  'start/restart, launches the installed unit\'s ExecStart= for real (User=, StateDirectory=, ' +
  'RuntimeDirectory=, LoadCredential=, Environment=, UMask= applied; sandboxing and MemoryMax= ' +
  'not enforced, systemd-analyze verify checks those)'

// Runs as the board's first process, inside `ip netns exec` + `unshare -m -u`.
const BOARD_INIT = `
set -eu
d=$1; name=$2; shim=$3
hostname "$name"
for p in etc opt var root usr/local; do
  mkdir -p "$d/upper/$p" "$d/work/$p"
  mount -t overlay "board-$p" -o "lowerdir=/$p,upperdir=$d/upper/$p,workdir=$d/work/$p" "/$p"
done
mount -t tmpfs -o mode=0755 board-run /run
mount --bind "$shim" /usr/bin/systemctl
install -m 0600 "$d/seed/ssh_host_ed25519_key" /etc/ssh/ssh_host_ed25519_key
install -m 0644 "$d/seed/sshd_config" /etc/ssh/sshd_config
install -d -m 0700 /root/.ssh
install -m 0600 "$d/seed/authorized_keys" /root/.ssh/authorized_keys
install -d -m 0755 /run/sshd
# Last: from here on the test's directory (under /tmp) is out of the board's sight.
mount -t tmpfs -o mode=1777 board-tmp /tmp
exec /usr/sbin/sshd -D -e
`

export interface BoardSpec {
  name: string
  port?: number
}

export interface ServiceProcess {
  pid: number
  argv: string[]
  env: Record<string, string>
  uid: number
  gid: number
}

export interface FileStat {
  owner: string
  group: string
  mode: string
  type: string
}

export class Board {
  constructor(
    readonly name: string,
    readonly address: string,
    readonly port: number,
    readonly pid: number,
    readonly log: LineLog,
  ) {}

  /** Run a command inside this board's namespaces (network, mount, host name). */
  exec(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return run('nsenter', ['-t', String(this.pid), '-m', '-u', '-n', '--', cmd, ...args], { timeoutMs: 30_000, cwd: '/', ...opts })
  }

  async sh(script: string): Promise<string> {
    const r = await this.exec('sh', ['-c', script])
    if (r.code !== 0) throw new Error(`${this.name}: sh -c ${JSON.stringify(script)} failed (${r.code}): ${r.stderr}`)
    return r.stdout
  }

  async stat(path: string): Promise<FileStat | null> {
    const r = await this.exec('stat', ['-c', '%U %G %a %F', path])
    if (r.code !== 0) return null
    const [owner, group, mode, ...type] = r.stdout.trim().split(' ')
    return { owner, group, mode, type: type.join(' ') }
  }

  async read(path: string): Promise<string | null> {
    const r = await this.exec('cat', [path])
    return r.code === 0 ? r.stdout : null
  }

  /** The running dsn.service as the shim started it: pid, argv, user and environment, from /proc. */
  async service(): Promise<ServiceProcess | null> {
    const pid = Number(await this.read('/run/systemctl-shim/dsn.service.pid'))
    if (!pid) return null
    const r = await this.exec('sh', ['-c', `tr '\\0' '\\n' < /proc/${pid}/cmdline; echo --; tr '\\0' '\\n' < /proc/${pid}/environ; echo --; grep -E '^(Uid|Gid):' /proc/${pid}/status`])
    if (r.code !== 0) return null
    const [argv, environ, status] = r.stdout.split('\n--\n')
    const env: Record<string, string> = {}
    for (const line of environ.split('\n').filter(Boolean)) env[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1)
    const ids = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1])
    return { pid, argv: argv.split('\n').filter(Boolean), env, uid: ids('Uid'), gid: ids('Gid') }
  }

  /** `dsn status --json` on the board, through the installed /usr/local/bin/dsn. */
  async status(): Promise<{ code: number | null; json?: { nodeId: string; peers: { nodeId: string }[] } }> {
    const r = await this.exec('/usr/local/bin/dsn', ['status', '--json'])
    return r.code === 0 ? { code: 0, json: JSON.parse(r.stdout) } : { code: r.code }
  }

  /** What the systemctl shim has been asked so far, one entry per call. */
  async systemctlCalls(): Promise<{ time: string; argv?: string[]; event?: string; pid?: number; argv0?: string }[]> {
    const text = (await this.read('/run/systemctl-shim/calls.log')) ?? ''
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l))
  }
}

export interface DeployLab {
  lab: Lab
  boards: Board[]
  /** The test's own directory on the machine (keys, inventories, logs). */
  dir: string
  /** Client key pair made for this test, authorised on every board's root account. */
  key: string
  /** ssh_config for the controller: the test's known_hosts, strict host key checking, batch mode. */
  sshConfig: string
  /** Run on the controller (lab host 0), from the repository root. */
  control(cmd: string, args: string[], opts?: RunOptions): Promise<RunResult>
  destroy(): Promise<void>
}

async function startBoard(lab: Lab, host: number, spec: BoardSpec, dir: string, clientPub: string): Promise<Board> {
  const { address } = lab.hosts[host]
  const port = spec.port ?? 22
  const bdir = join(dir, spec.name)
  mkdirSync(join(bdir, 'seed'), { recursive: true })
  await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', spec.name, '-f', join(bdir, 'seed', 'ssh_host_ed25519_key')])
  writeFileSync(join(bdir, 'seed', 'authorized_keys'), clientPub)
  writeFileSync(
    join(bdir, 'seed', 'sshd_config'),
    [
      `ListenAddress ${address}`,
      `Port ${port}`,
      'HostKey /etc/ssh/ssh_host_ed25519_key',
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'PidFile none',
      'PrintMotd no',
      'Subsystem sftp /usr/lib/openssh/sftp-server',
      '',
    ].join('\n'),
  )
  const child = lab.spawn(host, 'unshare', ['-m', '-u', '--propagation', 'private', 'sh', '-c', BOARD_INIT, 'board', bdir, spec.name, SYSTEMCTL_SHIM])
  const log = new LineLog(child.stderr, `sshd on ${spec.name}`)
  child.stdout.resume()
  await log.waitFor(/^Server listening on /, 15_000)
  // ip netns exec, unshare and sh all exec in place: the child's pid is sshd's.
  const comm = readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim()
  if (comm !== 'sshd') throw new Error(`expected sshd as pid ${child.pid}, found ${comm}`)
  return new Board(spec.name, address, port, child.pid!, log)
}

export async function createDeployLab(prefix: string, specs: BoardSpec[]): Promise<DeployLab> {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`))
  const key = join(dir, 'id_ed25519')
  await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'dsn-deploy-test', '-f', key])
  const lab = await createLab({ hosts: specs.length + 1, prefix })
  try {
    const boards: Board[] = []
    for (const [i, spec] of specs.entries()) boards.push(await startBoard(lab, i + 1, spec, dir, readFileSync(`${key}.pub`, 'utf8')))
    const knownHosts = boards.map((b) => {
      const pub = readFileSync(join(dir, b.name, 'seed', 'ssh_host_ed25519_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ')
      return `${b.port === 22 ? b.address : `[${b.address}]:${b.port}`} ${pub}`
    })
    writeFileSync(join(dir, 'known_hosts'), knownHosts.join('\n') + '\n')
    const sshConfig = join(dir, 'ssh_config')
    writeFileSync(
      sshConfig,
      [
        'Host *',
        `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
        '  GlobalKnownHostsFile /dev/null',
        '  StrictHostKeyChecking yes',
        '  BatchMode yes',
        '  ConnectTimeout 5',
        '',
      ].join('\n'),
    )
    // HOME in the test directory: ssh, npm and Ansible keep their state there, not in /root.
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir }
    delete env.NODE_OPTIONS
    delete env.SSH_AUTH_SOCK
    return {
      lab,
      boards,
      dir,
      key,
      sshConfig,
      control: (cmd, args, opts = {}) => lab.exec(0, cmd, args, { cwd: REPO_ROOT, env, timeoutMs: 300_000, ...opts }),
      destroy: async () => {
        await lab.destroy()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  } catch (err) {
    await lab.destroy()
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
}
