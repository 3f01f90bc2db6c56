// A real avahi-daemon in a lab host, for interop tests: its own dbus system bus and its
// own /run (a private mount namespace inside the host's network namespace), so several
// daemons run side by side and nothing touches the machine's own dbus or avahi.
//   const avahi = await startAvahi(lab, 0, { hostName: 'box' })
//   await avahi.browse('_dsn._udp'); const pub = await avahi.publishService(...); await avahi.stop()
import { ChildProcessWithoutNullStreams, execFileSync, spawn } from 'child_process'
import { registerCleanup } from './cleanup'
import { LineLog } from './lines'
import type { Lab, LabHost } from './netns'
import { liveGroupMembers } from './one-host'
import { exitedWithin, run, RunOptions, RunResult } from './run'

/** The Debian packages the avahi interop tests need (scripts/test-deps.sh installs them). */
export const AVAHI_PACKAGES = ['avahi-daemon', 'avahi-utils', 'dbus'] as const
const AVAHI_COMMANDS = ['avahi-daemon', 'avahi-browse', 'avahi-publish', 'avahi-resolve', 'dbus-daemon', 'dbus-send', 'nsenter', 'unshare']

/** Why avahi cannot run here (names the packages to install), or null when it can. */
export function avahiProblem(): string | null {
  const missing = AVAHI_COMMANDS.filter((c) => {
    try {
      execFileSync('sh', ['-c', `command -v ${c}`], { stdio: 'ignore' })
      return false
    } catch {
      return true
    }
  })
  if (missing.length === 0) return null
  return `not installed: ${missing.join(', ')}; install the Debian packages ${AVAHI_PACKAGES.join(' ')} util-linux ` +
    `(apt-get install -y ${AVAHI_PACKAGES.join(' ')} util-linux, or run \`npm test\` as root, which installs them)`
}

export interface AvahiOptions {
  /** Host name the daemon claims as `<hostName>.local` (it renames itself on a conflict). */
  hostName: string
  /** Publish the A record of the host name (default true: what a real avahi host does). */
  publishAddresses?: boolean
  /** Extra lines for the [server] section of avahi-daemon.conf, e.g. 'cache-entries-max=0'. */
  serverConfig?: string[]
  /** How long to wait for "Server startup complete" (default 20 s: probing takes ~1 s). */
  timeoutMs?: number
}

export interface AvahiBrowseEntry {
  /** '+' found, '-' removed, '=' resolved. */
  event: '+' | '-' | '='
  iface: string
  protocol: string
  /** Instance name, avahi's escapes (\064 for '@', \046 for '.') decoded. */
  name: string
  type: string
  domain: string
  /** Only on '=' lines. */
  host?: string
  address?: string
  port?: number
  txt?: string[]
}

/** A long-running avahi client (avahi-publish): its output, and stop(). */
export interface AvahiClient {
  child: ChildProcessWithoutNullStreams
  out: LineLog
  err: LineLog
  /** SIGTERM (avahi-publish then withdraws its records with a goodbye) and wait for the exit. */
  stop(): Promise<void>
}

export interface AvahiDaemon {
  readonly host: LabHost
  /** The name asked for; see currentHostName() for the one held after conflicts. */
  readonly hostName: string
  /** Process group of the daemon and its dbus (all gone once stop() resolves). */
  readonly processGroup: number | undefined
  /** The daemon's own log (stderr): "Host name conflict, retrying with ...", "Server startup complete...". */
  readonly log: LineLog
  /** Run a command beside the daemon (same network and mount namespace: its dbus, its avahi socket). */
  exec(cmd: string, args: string[], opts?: RunOptions): Promise<RunResult>
  spawn(cmd: string, args: string[]): ChildProcessWithoutNullStreams
  /** The host name the daemon holds now (dbus GetHostName), e.g. 'box-2' after a conflict. */
  currentHostName(): Promise<string>
  /** `avahi-browse -ptk [-r] TYPE`: the cache once avahi says "all for now" (and every resolve ended). */
  browse(type: string, opts?: { resolve?: boolean; timeoutMs?: number }): Promise<AvahiBrowseEntry[]>
  /** `avahi-resolve -4 -n NAME`: the address, or null when it does not resolve. */
  resolveHostName(name: string, timeoutMs?: number): Promise<string | null>
  /** `avahi-publish -s NAME TYPE PORT TXT...`; resolves once avahi says the service is established. */
  publishService(name: string, type: string, port: number, txt?: string[], timeoutMs?: number): Promise<AvahiClient>
  /** `avahi-publish -a -R NAME ADDRESS`: an extra A record; resolves once established. */
  publishAddress(name: string, address: string, timeoutMs?: number): Promise<AvahiClient>
  /** Kill the daemon, its dbus and every client started here; wait until none runs. Idempotent. */
  stop(): Promise<void>
}

// Runs as: ip netns exec NS unshare -m --propagation private sh -c HOLDER sh HOSTNAME IFACE PUBLISH EXTRA
// A tmpfs over /run (this mount namespace only) gives dbus and avahi their own sockets and pid
// files without creating anything on the machine's disk. The shell's pid becomes avahi-daemon's.
const HOLDER = String.raw`set -e
mount -t tmpfs dsn-avahi /run
mkdir -p /run/dbus /run/avahi-daemon
printf '[server]\nhost-name=%s\ndomain-name=local\nuse-ipv4=yes\nuse-ipv6=no\nallow-interfaces=%s\nenable-dbus=yes\n%b\n[publish]\npublish-addresses=%s\npublish-hinfo=no\npublish-workstation=no\n' \
  "$1" "$2" "$4" "$3" >/run/avahi-daemon/dsn-lab.conf
dbus-daemon --system --nofork --nopidfile </dev/null >/dev/null 2>&1 &
i=0
until [ -S /run/dbus/system_bus_socket ]; do
  i=$((i + 1)); [ $i -lt 200 ] || { echo "avahi lab: dbus-daemon did not start" >&2; exit 4; }; sleep 0.05
done
echo "holder $$"
exec avahi-daemon -f /run/avahi-daemon/dsn-lab.conf --no-drop-root --no-chroot --no-rlimits </dev/null`

const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/

/** Start avahi-daemon (with its own dbus) in lab host `host`; resolves once its host name is established. */
export async function startAvahi(lab: Lab, host: number, opts: AvahiOptions): Promise<AvahiDaemon> {
  const h = lab.hosts[host]
  if (h === undefined) throw new RangeError(`no lab host ${host} (have ${lab.hosts.length})`)
  if (!HOST_NAME.test(opts.hostName)) throw new RangeError(`avahi hostName must be one DNS label, got '${opts.hostName}'`)
  const problem = avahiProblem()
  if (problem) throw new Error(`cannot start avahi-daemon: ${problem}`)
  const extra = (opts.serverConfig ?? []).join('\\n')
  const publish = opts.publishAddresses === false ? 'no' : 'yes'
  const args = ['netns', 'exec', h.ns, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', HOLDER, 'sh', opts.hostName, h.iface, publish, extra]
  // Its own process group, so stop() ends dbus-daemon and avahi-daemon together.
  const daemon = spawn('ip', args, { stdio: 'pipe', detached: true })
  const unregister = registerCleanup(() => killGroup(daemon.pid))
  const out = new LineLog(daemon.stdout, `avahi ${h.ns} stdout`)
  const log = new LineLog(daemon.stderr, `avahi-daemon ${h.ns}`)
  const d = new LabAvahi(h, opts.hostName, log, daemon, unregister)
  try {
    const holder = await out.waitFor(/^holder \d+$/, opts.timeoutMs ?? 20_000)
    d.pid = Number(holder.split(' ')[1])
    await log.waitFor(/^Server startup complete\./, opts.timeoutMs ?? 20_000)
  } catch (err) {
    await d.stop()
    throw err
  }
  return d
}

function killGroup(pgid: number | undefined): void {
  if (pgid === undefined) return
  try {
    process.kill(-pgid, 'SIGKILL')
  } catch {
    // group already gone
  }
}

/** Decode avahi-browse -p escapes: \DDD is a decimal byte. */
function unescapeAvahi(s: string): string {
  return s.replace(/\\(\d{3})/g, (_, d: string) => String.fromCharCode(Number(d)))
}

export function parseBrowseLine(line: string): AvahiBrowseEntry | null {
  const f = line.split(';')
  if (!['+', '-', '='].includes(f[0]) || f.length < 6) return null
  const entry: AvahiBrowseEntry = {
    event: f[0] as AvahiBrowseEntry['event'],
    iface: f[1],
    protocol: f[2],
    name: unescapeAvahi(f[3]),
    type: f[4],
    domain: f[5],
  }
  if (entry.event === '=' && f.length >= 10) {
    entry.host = f[6]
    entry.address = f[7]
    entry.port = Number(f[8])
    // Each TXT string is quoted: "k=v" "k2=v2".
    entry.txt = [...f.slice(9).join(';').matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1])
  }
  return entry
}

class LabAvahi implements AvahiDaemon {
  pid: number | undefined
  private readonly clients = new Set<ChildProcessWithoutNullStreams>()
  private stopping: Promise<void> | null = null

  constructor(
    readonly host: LabHost,
    readonly hostName: string,
    readonly log: LineLog,
    private readonly daemon: ChildProcessWithoutNullStreams,
    private readonly unregister: () => void,
  ) {}

  get processGroup(): number | undefined {
    return this.daemon.pid
  }

  private enter(): string[] {
    if (this.pid === undefined || this.stopping) throw new Error(`avahi-daemon in ${this.host.ns} is not running`)
    return ['-t', String(this.pid), '-n', '-m', '--']
  }

  exec(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return run('nsenter', [...this.enter(), cmd, ...args], { timeoutMs: 20_000, ...opts })
  }

  spawn(cmd: string, args: string[]): ChildProcessWithoutNullStreams {
    const child = spawn('nsenter', [...this.enter(), cmd, ...args], { stdio: 'pipe' })
    this.clients.add(child)
    child.once('exit', () => this.clients.delete(child))
    return child
  }

  async currentHostName(): Promise<string> {
    const r = await this.exec('dbus-send', ['--system', '--print-reply', '--dest=org.freedesktop.Avahi', '/', 'org.freedesktop.Avahi.Server.GetHostName'])
    const name = /string "([^"]*)"/.exec(r.stdout)?.[1]
    if (r.code !== 0 || name === undefined) throw new Error(`avahi GetHostName failed in ${this.host.ns}: ${r.stderr.trim() || r.stdout.trim()}`)
    return name
  }

  async browse(type: string, opts: { resolve?: boolean; timeoutMs?: number } = {}): Promise<AvahiBrowseEntry[]> {
    const flags = opts.resolve === false ? '-ptk' : '-rptk'
    const r = await this.exec('avahi-browse', [flags, type], { timeoutMs: opts.timeoutMs ?? 15_000 })
    if (r.code !== 0) throw new Error(`avahi-browse ${flags} ${type} failed (${r.signal ?? `exit ${r.code}`}): ${r.stderr.trim()}`)
    return r.stdout.split('\n').map(parseBrowseLine).filter((e): e is AvahiBrowseEntry => e !== null)
  }

  async resolveHostName(name: string, timeoutMs = 10_000): Promise<string | null> {
    const r = await this.exec('avahi-resolve', ['-4', '-n', name], { timeoutMs })
    // "name.local\t10.47.0.1" on success; "Failed to resolve host name ..." and exit 1 otherwise.
    const addr = r.stdout.trim().split(/\s+/)[1]
    return r.code === 0 && addr ? addr : null
  }

  publishService(name: string, type: string, port: number, txt: string[] = [], timeoutMs = 10_000): Promise<AvahiClient> {
    return this.publish(['-s', name, type, String(port), ...txt], timeoutMs)
  }

  publishAddress(name: string, address: string, timeoutMs = 10_000): Promise<AvahiClient> {
    // -R: no reverse PTR, so two names may share an address.
    return this.publish(['-a', '-R', name, address], timeoutMs)
  }

  private async publish(args: string[], timeoutMs: number): Promise<AvahiClient> {
    const child = this.spawn('avahi-publish', args)
    const out = new LineLog(child.stdout, `avahi-publish ${args.join(' ')}`)
    const err = new LineLog(child.stderr, `avahi-publish ${args.join(' ')} stderr`)
    const stop = async (): Promise<void> => {
      child.kill('SIGTERM')
      if (!(await exitedWithin(child, 5000))) child.kill('SIGKILL')
    }
    try {
      // avahi-publish prints "Established under name 'X'" on stdout (older builds: stderr).
      await Promise.any([out, err].map((l) => l.waitFor(/^Established under name/, timeoutMs)))
    } catch {
      await stop()
      throw new Error(`avahi-publish ${args.join(' ')} did not establish within ${timeoutMs} ms: ${[...out.lines, ...err.lines].join(' | ')}`)
    }
    return { child, out, err, stop }
  }

  stop(): Promise<void> {
    this.stopping ??= this.teardown()
    return this.stopping
  }

  private async teardown(): Promise<void> {
    for (const c of this.clients) c.kill('SIGKILL')
    killGroup(this.daemon.pid)
    await Promise.all([...this.clients, this.daemon].map((c) => exitedWithin(c, 5000)))
    const pgid = this.daemon.pid
    const deadline = Date.now() + 5000
    while (pgid !== undefined && liveGroupMembers(pgid).length > 0) {
      if (Date.now() > deadline) throw new Error(`avahi process group ${pgid} in ${this.host.ns} still running after SIGKILL`)
      await new Promise((r) => setTimeout(r, 10))
    }
    this.unregister()
  }
}
