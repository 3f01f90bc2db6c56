import * as os from 'node:os'
import * as path from 'node:path'
import { configError } from './errors'

/** What a user may pass to `DSNode.start`. Every field but `networkKey` has a default. */
export interface DsnConfig {
  /** This node's id, unique in the cluster: 1-64 of [A-Za-z0-9_.-]. Default: the host name. */
  nodeId: string
  /** The shared 256-bit network key, 64 hex characters (`dsn keygen`, `generateKey()`). Required. */
  networkKey: string
  /** Old network keys still accepted on receive while a cluster rotates to `networkKey`. */
  acceptedNetworkKeys: string[]
  /** Cluster name, bound into every datagram: clusters sharing a group and key stay apart. */
  cluster: string
  /** UDP port of the multicast group, shared by every node of the cluster. */
  port: number
  /** IPv4 multicast group (organisation-local scope 239.255/16 by default). */
  group: string
  /** Interface name or IPv4 address to use; default: the one holding the default route. */
  interface: string | undefined
  /** This node's own unicast port (repairs, direct messages, static peers). 0 = any free port. */
  unicastPort: number
  /** "host:port" unicast addresses of other nodes, for networks where multicast is blocked. */
  staticPeers: string[]
  /** Send state over multicast. Off: only unicast to static and discovered peers. */
  multicast: boolean
  /** Advertise and browse `_dsn._udp.local` by mDNS. */
  mdns: boolean
  /** Where this node's Ed25519 identity and pinned peer keys are kept. */
  credentialDir: string
  /** Hex Ed25519 public keys of the only nodes admitted (strict mode). Empty: any holder of the network key. */
  allowedKeys: string[]
  /** How often a heartbeat is sent, ms. Also bounds how late a lost tail is noticed. */
  heartbeatIntervalMs: number
  /** Silence after which a peer is declared down, ms. */
  peerTimeoutMs: number
  /** Sent datagrams kept for resending on NACK. Older gaps are answered with a snapshot. */
  historySize: number
  /** Largest UDP payload sent, bytes. 1400 stays under Ethernet/Wi-Fi MTU with room for tunnels. */
  mtu: number
  /** Largest encoded value, bytes. Values above the MTU are fragmented. */
  maxValueBytes: number
  /** Longest key, UTF-8 bytes. */
  maxKeyBytes: number
  /** Most keys one node's state may hold (own state, and accepted per peer). */
  maxKeysPerNode: number
  /** Largest total encoded state per node, bytes. */
  maxStateBytes: number
  /** Most peers tracked at once; more are dropped and counted. */
  maxPeers: number
  /**
   * Most peers sent unicast copies because they hear too little of our multicast (Wi-Fi,
   * docs/PROTOCOL.md 13.2-13.3); those hearing least come first, the rest are counted in
   * `unicast-fanout-capped`. Static peers and `multicast: false` are not limited by it.
   */
  maxUnicastPeers: number
  /** A direct message is retried until acknowledged or this many ms have passed. */
  sendTimeoutMs: number
  /**
   * File keeping this node's own state across restarts (restored at start under the new
   * incarnation). Unset: not kept (the library's default); `dsn run` sets <credentialDir>/state.cbor.
   */
  persistPath: string | undefined
  /** After a change, the state file is written at most this often, ms (and always on stop). */
  persistIntervalMs: number
}

export type DsnOptions = Partial<DsnConfig> & { networkKey: string }

/** The defaults, each with its unit and reason. */
export function defaultConfig(nodeId: string = defaultNodeId()): Omit<DsnConfig, 'networkKey'> {
  return {
    nodeId,
    acceptedNetworkKeys: [],
    cluster: 'default',
    port: 47474,
    group: '239.255.74.74',
    interface: undefined,
    unicastPort: 0,
    staticPeers: [],
    multicast: true,
    mdns: true,
    credentialDir: path.join(os.homedir(), '.dsn', nodeId),
    allowedKeys: [],
    // 1 s heartbeats with a 2 s timeout: a dead node is noticed within 2 s, and a node that
    // misses one heartbeat is probed (see core/inbound.ts) before it is declared down.
    heartbeatIntervalMs: 1000,
    peerTimeoutMs: 2000,
    historySize: 1024,
    mtu: 1400,
    maxValueBytes: 65536,
    maxKeyBytes: 128,
    maxKeysPerNode: 4096,
    maxStateBytes: 4 * 1024 * 1024,
    maxPeers: 256,
    // 64 copies of a 1400-byte datagram is ~90 KB per write burst: the most a small board on
    // Wi-Fi should push, and more peers than most sensor clusters have.
    maxUnicastPeers: 64,
    sendTimeoutMs: 2000,
    persistPath: undefined,
    // 1 s: a power cut loses at most the last second of writes, and a sensor writing every
    // 100 ms costs one small file write per second, not ten, on an SD card.
    persistIntervalMs: 1000,
  }
}

export function defaultNodeId(): string {
  const host = os.hostname().replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64)
  return host.length > 0 ? host : 'dsn-node'
}

const NODE_ID = /^[A-Za-z0-9_.-]{1,64}$/
const HEX_KEY = /^[0-9a-fA-F]{64}$/
const CLUSTER = /^[A-Za-z0-9_.-]{1,64}$/

/** Fills defaults and checks every field; each error names the field and what is allowed. */
export function resolveConfig(options: unknown): DsnConfig {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw configError('(root)', 'expected an object of options')
  }
  const given = options as Record<string, unknown>
  const nodeId = given.nodeId === undefined ? defaultNodeId() : given.nodeId
  if (typeof nodeId !== 'string' || !NODE_ID.test(nodeId)) {
    throw configError('nodeId', `must be 1-64 characters of A-Z a-z 0-9 _ . - (got ${show(nodeId)})`)
  }
  const defaults = defaultConfig(nodeId)
  const known = new Set<string>([...Object.keys(defaults), 'networkKey'])
  for (const field of Object.keys(given)) {
    if (!known.has(field)) throw configError(field, `unknown field (known: ${[...known].sort().join(', ')})`)
  }
  const merged: Record<string, unknown> = { ...defaults }
  for (const [field, value] of Object.entries(given)) if (value !== undefined) merged[field] = value
  const config = merged as unknown as DsnConfig

  if (typeof config.networkKey !== 'string' || !HEX_KEY.test(config.networkKey)) {
    throw configError('networkKey', 'required: 64 hex characters (256 bits); make one with `dsn keygen`')
  }
  stringArray(config, 'acceptedNetworkKeys', (k) => HEX_KEY.test(k), '64 hex characters each', true)
  if (typeof config.cluster !== 'string' || !CLUSTER.test(config.cluster)) {
    throw configError('cluster', `must be 1-64 characters of A-Z a-z 0-9 _ . - (got ${show(config.cluster)})`)
  }
  integer(config, 'port', 1, 65535)
  integer(config, 'unicastPort', 0, 65535)
  if (typeof config.group !== 'string' || !isMulticastIPv4(config.group)) {
    throw configError('group', `must be an IPv4 multicast address 224.0.0.0-239.255.255.255 (got ${show(config.group)})`)
  }
  if (config.interface !== undefined && (typeof config.interface !== 'string' || config.interface === '')) {
    throw configError('interface', `must be an interface name or IPv4 address (got ${show(config.interface)})`)
  }
  stringArray(config, 'staticPeers', (p) => parseHostPort(p) !== undefined, '"host:port" each, port 1-65535')
  boolean(config, 'multicast')
  boolean(config, 'mdns')
  if (typeof config.credentialDir !== 'string' || config.credentialDir === '') {
    throw configError('credentialDir', `must be a directory path (got ${show(config.credentialDir)})`)
  }
  stringArray(config, 'allowedKeys', (k) => HEX_KEY.test(k), 'hex Ed25519 public keys, 64 characters each')
  integer(config, 'heartbeatIntervalMs', 50, 60_000)
  integer(config, 'peerTimeoutMs', 100, 600_000)
  if (config.peerTimeoutMs < config.heartbeatIntervalMs * 1.5) {
    throw configError('peerTimeoutMs', `must be at least 1.5 x heartbeatIntervalMs (${config.heartbeatIntervalMs * 1.5})`)
  }
  integer(config, 'historySize', 16, 1_000_000)
  integer(config, 'mtu', 576, 65000)
  integer(config, 'maxValueBytes', 1, 16 * 1024 * 1024)
  integer(config, 'maxKeyBytes', 1, 1024)
  integer(config, 'maxKeysPerNode', 1, 1_000_000)
  integer(config, 'maxStateBytes', 1024, 1024 * 1024 * 1024)
  integer(config, 'maxPeers', 1, 100_000)
  integer(config, 'maxUnicastPeers', 0, 100_000)
  integer(config, 'sendTimeoutMs', 10, 600_000)
  if (config.persistPath !== undefined && (typeof config.persistPath !== 'string' || config.persistPath === '')) {
    throw configError('persistPath', `must be a file path, or absent to keep no state file (got ${show(config.persistPath)})`)
  }
  integer(config, 'persistIntervalMs', 10, 3_600_000)
  return config
}

export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const match = /^(.+):(\d{1,5})$/.exec(text)
  if (!match) return undefined
  const port = Number(match[2])
  if (port < 1 || port > 65535) return undefined
  return { host: match[1].replace(/^\[(.*)\]$/, '$1'), port }
}

function isMulticastIPv4(text: string): boolean {
  const parts = text.split('.')
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return false
  const first = Number(parts[0])
  return first >= 224 && first <= 239
}

function integer(config: DsnConfig, field: keyof DsnConfig, min: number, max: number): void {
  const value = config[field]
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw configError(field, `must be an integer from ${min} to ${max} (got ${show(value)})`)
  }
}

function boolean(config: DsnConfig, field: keyof DsnConfig): void {
  if (typeof config[field] !== 'boolean') throw configError(field, `must be true or false (got ${show(config[field])})`)
}

// Secret fields never echo what was given, so a near-miss key does not end up in a log.
function stringArray(config: DsnConfig, field: keyof DsnConfig, ok: (s: string) => boolean, allowed: string, secret = false): void {
  const value = config[field]
  const got = (v: unknown) => (secret ? '' : ` (got ${show(v)})`)
  if (!Array.isArray(value)) throw configError(field, `must be an array of strings, ${allowed}${got(value)}`)
  value.forEach((item, i) => {
    if (typeof item !== 'string' || !ok(item)) throw configError(`${field}[${i}]`, `must be ${allowed}${got(item)}`)
  })
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '...' : value)
  if (value === undefined) return 'nothing'
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
