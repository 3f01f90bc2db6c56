import { defaultConfig, type DsnConfig } from '../config'
import { DsnError } from '../errors'
import { isLogLevel, LOG_LEVELS, type LogLevel } from './logger'
import { DEFAULT_SOCKET } from './socket-path'

/**
 * The one table of environment variables `dsn run` reads: used to parse the environment and
 * to print `dsn run --help`, so the two cannot disagree. An empty variable counts as unset
 * (systemd's `Environment=DSN_INTERFACE=` clears a value). Environment beats the config file.
 */
export type DaemonSetting = 'config' | 'networkKeyFile' | 'logLevel' | 'socket' | 'persist' | 'http' | 'httpToken' | 'httpTokenFile' | MqttSetting
/** Fields of the `mqtt` object (src/mqtt/config.ts). */
export type MqttSetting = `mqtt.${'url' | 'topicPrefix' | 'clientId' | 'username' | 'passwordFile' | 'caFile' | 'discovery' | 'discoveryPrefix' | 'commands'}`
export type EnvKind = 'string' | 'integer' | 'boolean' | 'list' | 'secret' | 'path' | 'level'

export interface EnvVar {
  name: string
  /** The DsnConfig field it sets, or a setting of the daemon itself. */
  target: keyof DsnConfig | DaemonSetting
  kind: EnvKind
  default: string
  help: string
}

const d = defaultConfig('<nodeId>')

export const ENV_VARS: readonly EnvVar[] = [
  { name: 'DSN_CONFIG', target: 'config', kind: 'path', default: 'none', help: 'JSON config file (--config wins)' },
  { name: 'DSN_NETWORK_KEY', target: 'networkKey', kind: 'secret', default: 'required', help: '64 hex characters from `dsn keygen`; never logged' },
  { name: 'DSN_NETWORK_KEY_FILE', target: 'networkKeyFile', kind: 'path', default: 'none', help: 'file holding the key (systemd LoadCredential=, a root-only file); not with DSN_NETWORK_KEY' },
  { name: 'DSN_NODE_ID', target: 'nodeId', kind: 'string', default: 'host name', help: 'this node\'s id: 1-64 of A-Z a-z 0-9 _ . -' },
  { name: 'DSN_CLUSTER', target: 'cluster', kind: 'string', default: d.cluster, help: 'cluster name, bound into every datagram' },
  { name: 'DSN_PORT', target: 'port', kind: 'integer', default: String(d.port), help: 'UDP port of the multicast group' },
  { name: 'DSN_GROUP', target: 'group', kind: 'string', default: d.group, help: 'IPv4 multicast group' },
  { name: 'DSN_INTERFACE', target: 'interface', kind: 'string', default: 'default route\'s', help: 'interface name or IPv4 address' },
  { name: 'DSN_UNICAST_PORT', target: 'unicastPort', kind: 'integer', default: String(d.unicastPort), help: 'own unicast port (0 = any free port)' },
  { name: 'DSN_STATIC_PEERS', target: 'staticPeers', kind: 'list', default: 'none', help: 'comma list of host:port, for networks without multicast' },
  { name: 'DSN_CREDENTIAL_DIR', target: 'credentialDir', kind: 'path', default: '$STATE_DIRECTORY, else ~/.dsn/<nodeId>', help: 'holds the node\'s Ed25519 identity' },
  { name: 'DSN_MDNS', target: 'mdns', kind: 'boolean', default: String(d.mdns), help: 'advertise and browse _dsn._udp.local' },
  { name: 'DSN_MULTICAST', target: 'multicast', kind: 'boolean', default: String(d.multicast), help: 'send state over multicast' },
  { name: 'DSN_HEARTBEAT_INTERVAL_MS', target: 'heartbeatIntervalMs', kind: 'integer', default: String(d.heartbeatIntervalMs), help: 'heartbeat period, ms' },
  { name: 'DSN_PEER_TIMEOUT_MS', target: 'peerTimeoutMs', kind: 'integer', default: String(d.peerTimeoutMs), help: 'silence before a peer is down, ms' },
  { name: 'DSN_ALLOWED_KEYS', target: 'allowedKeys', kind: 'list', default: 'none (any key holder)', help: 'comma list of node public keys admitted (strict mode)' },
  { name: 'DSN_PERSIST', target: 'persist', kind: 'boolean', default: 'true', help: 'keep this node\'s own state across restarts (in DSN_PERSIST_PATH)' },
  { name: 'DSN_PERSIST_PATH', target: 'persistPath', kind: 'path', default: '<credential dir>/state.cbor', help: 'the own-state file (written atomically)' },
  { name: 'DSN_PERSIST_INTERVAL_MS', target: 'persistIntervalMs', kind: 'integer', default: String(d.persistIntervalMs), help: 'the state file is written at most this often after a change, ms (and on stop)' },
  { name: 'DSN_LOG_LEVEL', target: 'logLevel', kind: 'level', default: 'info', help: LOG_LEVELS.join(' | ') },
  { name: 'DSN_SOCKET', target: 'socket', kind: 'path', default: DEFAULT_SOCKET, help: 'control socket (--socket wins); also read by the client commands' },
  { name: 'DSN_HTTP', target: 'http', kind: 'string', default: 'off', help: 'HTTP metrics + dashboard on host:port, e.g. 127.0.0.1:9464 (beyond loopback needs a token)' },
  { name: 'DSN_HTTP_TOKEN', target: 'httpToken', kind: 'secret', default: 'none', help: 'bearer token for DSN_HTTP (16+ characters); never logged' },
  { name: 'DSN_HTTP_TOKEN_FILE', target: 'httpTokenFile', kind: 'path', default: 'none', help: 'file holding the HTTP token; not with DSN_HTTP_TOKEN' },
  { name: 'DSN_MQTT_URL', target: 'mqtt.url', kind: 'string', default: 'none (no bridge)', help: 'MQTT broker, mqtt://host:1883 or mqtts://host:8883: bridges the state to it' },
  { name: 'DSN_MQTT_TOPIC_PREFIX', target: 'mqtt.topicPrefix', kind: 'string', default: 'dsn', help: 'first level of <prefix>/<cluster>/<node>/<key>' },
  { name: 'DSN_MQTT_CLIENT_ID', target: 'mqtt.clientId', kind: 'string', default: 'dsn-<cluster>-<nodeId>', help: 'MQTT client id' },
  { name: 'DSN_MQTT_USERNAME', target: 'mqtt.username', kind: 'string', default: 'none', help: 'MQTT user name' },
  { name: 'DSN_MQTT_PASSWORD_FILE', target: 'mqtt.passwordFile', kind: 'path', default: 'none', help: 'file holding the MQTT password' },
  { name: 'DSN_MQTT_CA_FILE', target: 'mqtt.caFile', kind: 'path', default: 'system CAs', help: 'PEM CA certificate for mqtts://' },
  { name: 'DSN_MQTT_DISCOVERY', target: 'mqtt.discovery', kind: 'boolean', default: 'true', help: 'Home Assistant MQTT discovery configs' },
  { name: 'DSN_MQTT_DISCOVERY_PREFIX', target: 'mqtt.discoveryPrefix', kind: 'string', default: 'homeassistant', help: 'Home Assistant discovery prefix' },
  { name: 'DSN_MQTT_COMMANDS', target: 'mqtt.commands', kind: 'boolean', default: 'false', help: 'apply <prefix>/<cluster>/<this node>/set/<key> to this node\'s own keys' },
]

export interface EnvSettings {
  /** DsnConfig fields set by the environment (networkKey included when DSN_NETWORK_KEY is set). */
  options: Partial<Record<keyof DsnConfig, unknown>>
  config?: string
  networkKeyFile?: string
  logLevel?: LogLevel
  socket?: string
  /** The HTTP listener's settings, checked by http-config.ts. */
  http?: string
  httpToken?: string
  httpTokenFile?: string
  /** DSN_PERSIST: keep the own state in a file (the daemon's default: true). */
  persist?: boolean
  /** Fields of `mqtt` set by DSN_MQTT_* (they win over the file's `mqtt` object). */
  mqtt: Record<string, unknown>
  /** $STATE_DIRECTORY from systemd: the credential dir when neither env nor file sets one. */
  stateDirectory?: string
}

/** Reads every variable of ENV_VARS; an error names the variable and what is allowed. */
export function parseEnv(env: NodeJS.ProcessEnv): EnvSettings {
  const settings: EnvSettings = { options: {}, mqtt: {} }
  for (const v of ENV_VARS) {
    const raw = env[v.name]
    if (raw === undefined || raw.trim() === '') continue
    const value = parseOne(v, raw.trim())
    if (v.target.startsWith('mqtt.')) {
      settings.mqtt[v.target.slice('mqtt.'.length)] = value
      continue
    }
    switch (v.target) {
      case 'config':
      case 'networkKeyFile':
      case 'socket':
      case 'http':
      case 'httpToken':
      case 'httpTokenFile':
        settings[v.target] = value as string
        break
      case 'logLevel':
        settings.logLevel = value as LogLevel
        break
      case 'persist':
        settings.persist = value as boolean
        break
      default:
        settings.options[v.target as keyof DsnConfig] = value
    }
  }
  if (settings.options.credentialDir === undefined) {
    // systemd's StateDirectory= may list several directories, colon-separated: the first is ours.
    const state = env.STATE_DIRECTORY?.split(':')[0]
    if (state) settings.stateDirectory = state
  }
  return settings
}

/**
 * One warning per DSN_* variable nobody reads (a typo like DSN_NODEID is otherwise silently
 * ignored), with the nearest known name when one is close.
 */
export function unknownEnvWarnings(env: NodeJS.ProcessEnv, extraKnown: readonly string[] = []): string[] {
  const known = [...ENV_VARS.map((v) => v.name), ...extraKnown]
  const out: string[] = []
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('DSN_') || known.includes(name)) continue
    const near = closest(name, known)
    out.push(`environment ${name} is not a dsn setting and is ignored${near ? `; did you mean ${near}?` : ''} (dsn run --help lists them)`)
  }
  return out
}

function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const k of known) {
    const d = editDistance(name, k)
    if (d < bestDistance) [best, bestDistance] = [k, d]
  }
  // Within a third of the name's length after the DSN_ prefix: close enough to be a typo.
  return bestDistance <= Math.max(2, Math.floor((name.length - 4) / 3)) ? best : undefined
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    row = next
  }
  return row[b.length]
}

function parseOne(v: EnvVar, raw: string): unknown {
  switch (v.kind) {
    case 'integer':
      if (!/^-?\d+$/.test(raw)) throw envError(v, `must be an integer (got ${JSON.stringify(raw)})`)
      return Number(raw)
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(raw)) return true
      if (/^(0|false|no|off)$/i.test(raw)) return false
      throw envError(v, `must be true or false (also 1/0, yes/no, on/off; got ${JSON.stringify(raw)})`)
    case 'list':
      return raw.split(',').map((item) => item.trim()).filter((item) => item !== '')
    case 'level':
      if (!isLogLevel(raw)) throw envError(v, `must be one of ${LOG_LEVELS.join(', ')} (got ${JSON.stringify(raw)})`)
      return raw
    case 'secret':
    case 'string':
    case 'path':
      return raw
  }
}

function envError(v: EnvVar, problem: string): DsnError {
  return new DsnError('DSN_BAD_CONFIG', `environment ${v.name}: ${problem}`)
}

/** The table as text, for `dsn run --help`. */
export function envTable(): string {
  const width = Math.max(...ENV_VARS.map((v) => v.name.length))
  return ENV_VARS.map((v) => `  ${v.name.padEnd(width)}  ${v.help} [default: ${v.default}]`).join('\n')
}
