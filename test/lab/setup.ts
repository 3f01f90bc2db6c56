// Building and probing the lab topology with iproute2: N host namespaces, each
// with a veth `eth0` whose peer is enslaved to bridge br0 in one bridge namespace.
// Nothing is ever created in the caller's namespace: veths are born inside the labs.
import { execFileSync } from 'child_process'
import { runOk } from './run'

export const BRIDGE = 'br0'
export const HOST_IFACE = 'eth0'
export const MULTICAST_NET = '224.0.0.0/4'

export type LabAvailability = { ok: true } | { ok: false; reason: string }

export function hostNamespace(prefix: string, i: number): string {
  return `${prefix}h${i}`
}

export function bridgeNamespace(prefix: string): string {
  return `${prefix}br`
}

/** Bridge-side name of host i's veth peer. */
export function bridgePort(i: number): string {
  return `vh${i}`
}

function trySync(cmd: string, args: string[]): string | null {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 })
    return null
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string }
    return (e.stderr?.toString().trim() || e.message).split('\n')[0]
  }
}

/** Whether this process can build labs: root, iproute2, nft, and netns + bridge support. */
export function labAvailable(): LabAvailability {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces need Linux, this is ${process.platform}` }
  if (process.getuid?.() !== 0) return { ok: false, reason: 'creating network namespaces needs root (run the tests as root)' }
  const ip = trySync('ip', ['-V'])
  if (ip !== null) return { ok: false, reason: `iproute2 \`ip\` is not usable: ${ip}` }
  const nft = trySync('nft', ['--version'])
  if (nft !== null) return { ok: false, reason: `\`nft\` is not usable (apt-get install -y nftables): ${nft}` }
  const probe = `dsnprobe${process.pid}`
  const add = trySync('ip', ['netns', 'add', probe])
  if (add !== null) return { ok: false, reason: `\`ip netns add\` failed: ${add}` }
  try {
    const br = trySync('ip', ['-n', probe, 'link', 'add', BRIDGE, 'type', 'bridge'])
    if (br !== null) return { ok: false, reason: `cannot create a bridge inside a namespace: ${br}` }
    const veth = trySync('ip', ['-n', probe, 'link', 'add', 'a0', 'type', 'veth', 'peer', 'name', 'b0'])
    if (veth !== null) return { ok: false, reason: `cannot create a veth pair inside a namespace: ${veth}` }
  } finally {
    trySync('ip', ['netns', 'del', probe])
  }
  return { ok: true }
}

// No IPv6 in the lab: the mesh is IPv4 multicast, and router solicitations or
// MLD reports would only add noise to the traffic counters.
async function disableIpv6(ns: string): Promise<void> {
  await runOk('ip', [
    'netns', 'exec', ns, 'sysctl', '-q', '-w',
    'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1',
  ])
}

async function batch(ns: string, commands: string[]): Promise<void> {
  await runOk('ip', ['-n', ns, '-batch', '-'], { input: commands.join('\n') + '\n' })
}

/**
 * Whether `ethtool` is there, which a lab with network threads needs (apt-get install -y ethtool).
 * Null when it is; the reason otherwise.
 */
export function networkThreadsProblem(): string | null {
  const ethtool = trySync('ethtool', ['--version'])
  return ethtool === null ? null : `\`ethtool\` is not usable (apt-get install -y ethtool): ${ethtool}`
}

/**
 * Makes a veth deliver what it receives from its own NAPI kernel thread, as a NIC's interrupt
 * work would run apart from the sender. Without it, veth_xmit hands each frame straight to the
 * receiving side inside the sender's sendmsg: the bridge's flood to every port and each host's
 * IP and UDP receive are charged to the sending process (a multicast to 9 hosts: ~30 us of its
 * system time per datagram on this lab, where a NIC costs the sender one transmit). veth uses
 * its NAPI queue when GRO is on at the receiving end and the sending end has no TSO (veth.c,
 * veth_skb_is_eligible_for_gro); `threaded` gives the NAPI queue a kthread of its own.
 */
async function threadDelivery(ns: string, dev: string): Promise<void> {
  await runOk('ip', ['netns', 'exec', ns, 'ethtool', '-K', dev, 'tso', 'off', 'gro', 'on'])
  await runOk('ip', ['netns', 'exec', ns, 'tee', `/sys/class/net/${dev}/threaded`], { input: '1\n' })
}

export async function buildBridge(bridgeNs: string): Promise<void> {
  await runOk('ip', ['netns', 'add', bridgeNs])
  await disableIpv6(bridgeNs)
  // Snooping off: multicast floods to every port, whether or not anyone sent an IGMP join.
  await batch(bridgeNs, [
    'link set lo up',
    `link add ${BRIDGE} type bridge mcast_snooping 0 stp_state 0`,
    `link set ${BRIDGE} up`,
  ])
}

/** `networkThreads`: both ends of the host's veth deliver from kernel threads (threadDelivery). */
export async function buildHost(hostNs: string, bridgeNs: string, i: number, address: string, networkThreads = false): Promise<void> {
  await runOk('ip', ['netns', 'add', hostNs])
  await disableIpv6(hostNs)
  await batch(hostNs, [
    'link set lo up',
    `link add ${HOST_IFACE} type veth peer name ${bridgePort(i)} netns ${bridgeNs}`,
    `addr add ${address}/24 dev ${HOST_IFACE}`,
    `link set ${HOST_IFACE} multicast on`,
    `link set ${HOST_IFACE} up`,
    `route add ${MULTICAST_NET} dev ${HOST_IFACE}`,
  ])
  await batch(bridgeNs, [`link set ${bridgePort(i)} master ${BRIDGE}`, `link set ${bridgePort(i)} up`])
  if (networkThreads) await Promise.all([threadDelivery(hostNs, HOST_IFACE), threadDelivery(bridgeNs, bridgePort(i))])
}
