import { defaultConfig, type DsnConfig } from '../config'
import { DsnError } from '../errors'
import { isLogLevel, LOG_LEVELS, type LogLevel } from './logger'
import { DEFAULT_SOCKET } from './socket-path'

/**
 * The one table of environment variables `dsn run` reads: used to parse the environment and
 * to print `dsn run --help`, so the two cannot disagree. An empty variable counts as unset
 * (systemd's `Environment=DSN_INTERFACE=` clears a value). Environment beats the config file.
 */
export type DaemonSetting = 'config' | 'networkKeyFile' | 'logLevel' | 'socket' | MqttSetting
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
  { name: 'DSN_LOG_LEVEL', target: 'logLevel', kind: 'level', default: 'info', help: LOG_LEVELS.join(' | ') },
  { name: 'DSN_SOCKET', target: 'socket', kind: 'path', default: DEFAULT_SOCKET, help: 'control socket (--socket wins); also read by the client commands' },
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
        settings[v.target] = value as string
        break
      case 'logLevel':
        settings.logLevel = value as LogLevel
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
