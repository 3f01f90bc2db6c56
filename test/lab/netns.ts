// The namespace lab: every mesh socket a test or benchmark opens lives in here,
// never in the machine's own network namespace (which has a route outside).
import { ChildProcess, ChildProcessWithoutNullStreams, spawn as spawnChild, StdioOptions } from 'child_process'
import { readdirSync, readFileSync } from 'fs'
import { cleanupStaleLabs, deleteNamespaceSync, killNamespacePidsSync, registerCleanup } from './cleanup'
import { checkLossPercent, cloneImpairments, Impairments, noImpairments, renderRuleset, WifiImpairments } from './nft'
import { exitedWithin, run, RunOptions, RunResult, runOk } from './run'
import { bridgeNamespace, bridgePort, buildBridge, buildHost, HOST_IFACE, hostNamespace, labAvailable, networkThreadsProblem } from './setup'

export { assertInLabNamespace, isInLabNamespace, labNamespaceProblem } from './guard'
export { cleanupStaleLabs } from './cleanup'
export { labAvailable } from './setup'
export type { LabAvailability } from './setup'
export type { RunResult, RunOptions } from './run'

export interface LabOptions {
  hosts: number
  /** Unique per test (e.g. 'dsnt3'); namespaces are `${prefix}h<i>` and `${prefix}br`. */
  prefix?: string
  /** First three octets; host i gets `${subnet}.${i + 1}/24`. Default '10.47.0'. */
  subnet?: string
  /**
   * Deliver from kernel threads, as a switch and each host's NIC would (setup.ts, threadDelivery):
   * a sender pays for its transmit, not for the bridge's flood and every receiver's IP and UDP
   * receive. What those threads spend is `networkCpuNs()`. Needs ethtool. Default off.
   */
  networkThreads?: boolean
}

export interface LabHost {
  index: number
  /** Network namespace name, usable with `ip netns exec`. */
  ns: string
  address: string
  iface: string
}

export interface LabSpawnOptions {
  env?: NodeJS.ProcessEnv
  cwd?: string
}

export interface LabCounters {
  txBytes: number
  txPackets: number
  rxBytes: number
  rxPackets: number
}

export interface Lab {
  readonly prefix: string
  readonly hosts: LabHost[]
  readonly bridgeNs: string
  /** Start cmd inside host's namespace (via `ip netns exec`); killed by destroy(). */
  spawn(host: number, cmd: string, args: string[], opts?: LabSpawnOptions): ChildProcessWithoutNullStreams
  spawn(host: number, cmd: string, args: string[], opts: LabSpawnOptions & { stdio: StdioOptions }): ChildProcess
  exec(host: number, cmd: string, args: string[], opts?: RunOptions): Promise<RunResult>
  /**
   * Drop this percentage (0..100, two decimals) of the host's UDP datagrams in each direction; 0 removes it.
   * All impairments act on the wire (nft on the host's bridge port): sends never fail,
   * and the host's own counters still count what it sent.
   */
  setLoss(host: number, percent: number): Promise<void>
  /** Cut every packet between the two groups, unicast and multicast alike. */
  partition(groupA: number[], groupB: number[]): Promise<void>
  /** Undo every partition (loss and multicast blocks stay). */
  heal(): Promise<void>
  /** Drop all traffic to 224.0.0.0/4 from and to the host, so only unicast works (also on the wire). */
  blockMulticast(host: number): Promise<void>
  unblockMulticast(host: number): Promise<void>
  /** Change the host's Wi-Fi impairments (multicast and unicast apart, per direction; see wifi.ts). */
  setWifi(host: number, change: Partial<WifiImpairments>): Promise<void>
  /** Traffic counters of the host's eth0 since the lab was built. */
  counters(host: number): Promise<LabCounters>
  /** CPU nanoseconds the lab's delivery threads (LabOptions.networkThreads) spent so far; NaN without them. */
  networkCpuNs(): number
  /** Kill spawned processes and delete every namespace of the lab; idempotent. */
  destroy(): Promise<void>
}

const livePrefixes = new Set<string>()
let labSerial = 0

function defaultPrefix(): string {
  labSerial += 1
  return `dsn${process.pid.toString(36)}x${labSerial}`
}

interface StatsJson {
  stats64?: { rx: { bytes: number; packets: number }; tx: { bytes: number; packets: number } }
}

class NamespaceLab implements Lab {
  readonly hosts: LabHost[]
  readonly bridgeNs: string
  private readonly impairments: Impairments[]
  // Per-host queue: rulesets are applied in the order they were computed.
  private readonly applying: Promise<void>[]
  private readonly children = new Set<ChildProcess>()
  private readonly unregister: () => void
  private destroying: Promise<void> | null = null

  /** The NAPI kthreads that appeared while the lab was built (networkThreads only). */
  private networkThreadPids: number[] = []

  constructor(
    readonly prefix: string,
    subnet: string,
    count: number,
    private readonly networkThreads: boolean,
  ) {
    this.bridgeNs = bridgeNamespace(prefix)
    this.hosts = Array.from({ length: count }, (_, i) => ({
      index: i,
      ns: hostNamespace(prefix, i),
      address: `${subnet}.${i + 1}`,
      iface: HOST_IFACE,
    }))
    this.impairments = this.hosts.map(() => noImpairments())
    this.applying = this.hosts.map(() => Promise.resolve())
    livePrefixes.add(prefix)
    this.unregister = registerCleanup(() => this.destroySync())
  }

  private namespaces(): string[] {
    return [...this.hosts.map((h) => h.ns), this.bridgeNs]
  }

  async build(): Promise<void> {
    const before = new Set(napiThreadPids())
    await buildBridge(this.bridgeNs)
    await Promise.all(this.hosts.map((h) => buildHost(h.ns, this.bridgeNs, h.index, h.address, this.networkThreads)))
    // Kernel threads are not in any network namespace: ours are the ones our veths created
    // (another lab built at the same moment would blur this; the bench builds one at a time).
    if (this.networkThreads) this.networkThreadPids = napiThreadPids().filter((pid) => !before.has(pid))
  }

  networkCpuNs(): number {
    if (!this.networkThreads) return NaN
    let ns = 0
    for (const pid of this.networkThreadPids) ns += threadCpuNs(pid)
    return ns
  }

  private host(i: number): LabHost {
    const h = this.hosts[i]
    if (!Number.isInteger(i) || h === undefined) throw new RangeError(`no lab host ${i} (have ${this.hosts.length})`)
    if (this.destroying) throw new Error(`lab ${this.prefix} is destroyed`)
    return h
  }

  spawn(host: number, cmd: string, args: string[], opts?: LabSpawnOptions): ChildProcessWithoutNullStreams
  spawn(host: number, cmd: string, args: string[], opts: LabSpawnOptions & { stdio: StdioOptions }): ChildProcess
  spawn(host: number, cmd: string, args: string[], opts: LabSpawnOptions & { stdio?: StdioOptions } = {}): ChildProcess {
    const { ns } = this.host(host)
    const child = spawnChild('ip', ['netns', 'exec', ns, cmd, ...args], {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: opts.stdio ?? 'pipe',
    })
    this.children.add(child)
    child.once('exit', () => this.children.delete(child))
    return child
  }

  exec(host: number, cmd: string, args: string[], opts?: RunOptions): Promise<RunResult> {
    const { ns } = this.host(host)
    return run('ip', ['netns', 'exec', ns, cmd, ...args], opts)
  }

  // Change the model of host i, then make its port table match; on failure the model is restored.
  private update(i: number, change: (imp: Impairments) => void): Promise<void> {
    this.host(i)
    const before = cloneImpairments(this.impairments[i])
    change(this.impairments[i])
    const script = renderRuleset(this.impairments[i], bridgePort(i))
    const done = this.applying[i]
      .then(() => runOk('ip', ['netns', 'exec', this.bridgeNs, 'nft', '-f', '-'], { input: script }))
      .then(
        () => undefined,
        (err: Error) => {
          this.impairments[i] = before
          throw err
        },
      )
    this.applying[i] = done.catch(() => undefined)
    return done
  }

  async setLoss(host: number, percent: number): Promise<void> {
    checkLossPercent(percent)
    await this.update(host, (imp) => (imp.lossPercent = percent))
  }

  async partition(groupA: number[], groupB: number[]): Promise<void> {
    for (const i of [...groupA, ...groupB]) this.host(i)
    const overlap = groupA.filter((i) => groupB.includes(i))
    if (overlap.length > 0) throw new RangeError(`hosts ${overlap.join(',')} are in both partition groups`)
    const addrs = (g: number[]) => g.map((i) => this.hosts[i].address)
    const cut = (side: number[], other: number[]) =>
      side.map((i) => this.update(i, (imp) => addrs(other).forEach((a) => imp.blocked.add(a))))
    await Promise.all([...cut(groupA, groupB), ...cut(groupB, groupA)])
  }

  async heal(): Promise<void> {
    const cut = this.hosts.filter((h) => this.impairments[h.index].blocked.size > 0)
    await Promise.all(cut.map((h) => this.update(h.index, (imp) => imp.blocked.clear())))
  }

  async blockMulticast(host: number): Promise<void> {
    await this.update(host, (imp) => (imp.multicastBlocked = true))
  }

  async unblockMulticast(host: number): Promise<void> {
    await this.update(host, (imp) => (imp.multicastBlocked = false))
  }

  async setWifi(host: number, change: Partial<WifiImpairments>): Promise<void> {
    if (change.multicastLossPercent !== undefined) checkLossPercent(change.multicastLossPercent)
    if (change.unicastLossPercent !== undefined) checkLossPercent(change.unicastLossPercent)
    await this.update(host, (imp) => Object.assign(imp.wifi, change))
  }

  async counters(host: number): Promise<LabCounters> {
    const { ns, iface } = this.host(host)
    const out = await runOk('ip', ['-n', ns, '-s', '-j', 'link', 'show', iface])
    const [link] = JSON.parse(out) as StatsJson[]
    const s = link?.stats64
    if (!s) throw new Error(`no stats64 for ${iface} in ${ns}: ${out}`)
    return { txBytes: s.tx.bytes, txPackets: s.tx.packets, rxBytes: s.rx.bytes, rxPackets: s.rx.packets }
  }

  destroy(): Promise<void> {
    this.destroying ??= this.teardown()
    return this.destroying
  }

  private async teardown(): Promise<void> {
    for (const child of this.children) child.kill('SIGKILL')
    // Catches grandchildren too, which the ChildProcess handles do not know about.
    for (const ns of this.namespaces()) killNamespacePidsSync(ns)
    await Promise.all([...this.children].map((c) => exitedWithin(c, 5000)))
    // Hosts first: deleting a host ns removes its veth pair from the bridge.
    for (const ns of this.namespaces()) await run('ip', ['netns', 'del', ns])
    this.unregister()
    livePrefixes.delete(this.prefix)
  }

  // For process exit and signals, when awaiting is no longer possible.
  private destroySync(): void {
    for (const child of this.children) child.kill('SIGKILL')
    for (const ns of this.namespaces()) deleteNamespaceSync(ns)
    livePrefixes.delete(this.prefix)
  }
}

/** Pids of the kernel's NAPI threads (comm `napi/<dev>-<id>`), all namespaces. */
function napiThreadPids(): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').startsWith('napi/')) pids.push(Number(entry))
    } catch {
      // exited meanwhile
    }
  }
  return pids
}

/** Nanoseconds a thread ran so far (schedstat's first field), 0 once it is gone. */
function threadCpuNs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0])
  } catch {
    return 0
  }
}

/** Build a lab of `hosts` namespaces on one bridge. Call destroy() when done (also done at exit). */
export async function createLab(opts: LabOptions): Promise<Lab> {
  const prefix = opts.prefix ?? defaultPrefix()
  const subnet = opts.subnet ?? '10.47.0'
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(prefix)) throw new RangeError(`lab prefix must be 1-40 of [A-Za-z0-9_-], got '${prefix}'`)
  if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(subnet)) throw new RangeError(`subnet must be three octets like '10.47.0', got '${subnet}'`)
  if (!Number.isInteger(opts.hosts) || opts.hosts < 1 || opts.hosts > 250) throw new RangeError(`hosts must be 1..250, got ${opts.hosts}`)
  if (livePrefixes.has(prefix)) throw new Error(`a lab with prefix '${prefix}' is already running in this process`)
  const available = labAvailable()
  if (!available.ok) throw new Error(`cannot build a network lab: ${available.reason}`)
  cleanupStaleLabs(prefix)
  if (opts.networkThreads) {
    const problem = networkThreadsProblem()
    if (problem !== null) throw new Error(`cannot build a lab with network threads: ${problem}`)
  }
  const lab = new NamespaceLab(prefix, subnet, opts.hosts, opts.networkThreads ?? false)
  try {
    await lab.build()
  } catch (err) {
    await lab.destroy()
    throw err
  }
  return lab
}
