import { readFileSync } from 'node:fs'
import * as path from 'node:path'
import { DsnError } from '../errors'

/**
 * The `mqtt` field of the `dsn run` config: a bridge from the mesh to an MQTT broker, off unless
 * `url` is set (in the file or by DSN_MQTT_URL). Each default below is documented where it is set.
 * Pure validation apart from reading the password and CA files: nothing here loads MQTT.js.
 */
export interface MqttSettings {
  /** `mqtt://host[:1883]` or `mqtts://host[:8883]` (TLS). Other schemes (ws, wss) are not bundled. */
  url: string
  /** First topic level of every state topic. */
  topicPrefix: string
  /** MQTT client id; default `dsn-<cluster>-<nodeId>`, unique per daemon as brokers require. */
  clientId: string | undefined
  username: string | undefined
  /** Read from `passwordFile` at start; never logged. */
  password: string | undefined
  passwordFile: string | undefined
  /** PEM CA certificate(s) for mqtts://, read from `caFile` at start. */
  ca: Buffer | undefined
  caFile: string | undefined
  /** Home Assistant MQTT discovery: a device per node, an entity per number/boolean/string key. */
  discovery: boolean
  discoveryPrefix: string
  /** Subscribe `<prefix>/<cluster>/<this node>/set/<key>` and write this node's own keys. */
  commands: boolean
}

export const MQTT_DEFAULTS = {
  topicPrefix: 'dsn',
  discovery: true,
  discoveryPrefix: 'homeassistant',
  commands: false,
} as const

const STRING_FIELDS = ['url', 'topicPrefix', 'clientId', 'username', 'passwordFile', 'caFile', 'discoveryPrefix'] as const
const BOOLEAN_FIELDS = ['discovery', 'commands'] as const
const KNOWN = new Set<string>([...STRING_FIELDS, ...BOOLEAN_FIELDS])
// A prefix is one or more plain topic levels: no wildcards, no empty level, not a `$` topic.
const PREFIX = /^[^/+#$\u0000][^+#\u0000]*$/u

function mqttError(field: string, problem: string): DsnError {
  return new DsnError('DSN_BAD_CONFIG', `config.mqtt.${field}: ${problem}`)
}

/**
 * The bridge settings from the config file's `mqtt` object and the DSN_MQTT_* variables (which
 * win), or undefined when neither sets a url. Relative file paths are taken from the config file's
 * directory. Every error names the field.
 */
export function resolveMqttSettings(
  fromFile: unknown,
  fromEnv: Partial<Record<string, unknown>>,
  configPath: string | undefined,
): MqttSettings | undefined {
  if (fromFile !== undefined && (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile))) {
    throw new DsnError('DSN_BAD_CONFIG', 'config.mqtt: must be an object such as {"url": "mqtt://broker.lan:1883"}')
  }
  const file = (fromFile ?? {}) as Record<string, unknown>
  for (const field of Object.keys(file)) {
    if (!KNOWN.has(field)) throw mqttError(field, `unknown field (known: ${[...KNOWN].sort().join(', ')})`)
  }
  const given: Record<string, unknown> = { ...file, ...fromEnv }
  if (given.url === undefined) {
    const other = Object.keys(given)[0]
    if (other !== undefined) throw mqttError('url', `required when mqtt.${other} is set`)
    return undefined
  }
  for (const field of STRING_FIELDS) {
    const v = given[field]
    if (v !== undefined && (typeof v !== 'string' || v.trim() === '')) throw mqttError(field, `must be a non-empty string (got ${JSON.stringify(v)})`)
  }
  for (const field of BOOLEAN_FIELDS) {
    const v = given[field]
    if (v !== undefined && typeof v !== 'boolean') throw mqttError(field, `must be true or false (got ${JSON.stringify(v)})`)
  }
  const url = (given.url as string).trim()
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw mqttError('url', `must be a URL such as mqtt://broker.lan:1883 (got ${JSON.stringify(url)})`)
  }
  if (parsed.protocol !== 'mqtt:' && parsed.protocol !== 'mqtts:') {
    throw mqttError('url', `scheme must be mqtt:// or mqtts:// (got ${parsed.protocol}//)`)
  }
  if (parsed.password !== '') throw mqttError('url', 'must not hold a password: use mqtt.passwordFile (DSN_MQTT_PASSWORD_FILE)')
  const topicPrefix = (given.topicPrefix as string | undefined) ?? MQTT_DEFAULTS.topicPrefix
  const discoveryPrefix = (given.discoveryPrefix as string | undefined) ?? MQTT_DEFAULTS.discoveryPrefix
  for (const [field, prefix] of [['topicPrefix', topicPrefix], ['discoveryPrefix', discoveryPrefix]] as const) {
    if (!PREFIX.test(prefix) || prefix.endsWith('/') || prefix.includes('//')) {
      throw mqttError(field, `must be topic levels without + # or empty levels, not starting with $ (got ${JSON.stringify(prefix)})`)
    }
  }
  const passwordFile = given.passwordFile as string | undefined
  const caFile = given.caFile as string | undefined
  if (caFile !== undefined && parsed.protocol !== 'mqtts:') throw mqttError('caFile', 'only applies to an mqtts:// url')
  // A path from the file is relative to the file; one from the environment, to the working directory.
  const resolvePath = (field: 'passwordFile' | 'caFile', file: string) =>
    fromEnv[field] !== undefined || configPath === undefined ? file : path.resolve(path.dirname(configPath), file)
  return {
    url,
    topicPrefix,
    clientId: given.clientId as string | undefined,
    username: (given.username as string | undefined) ?? (parsed.username !== '' ? decodeURIComponent(parsed.username) : undefined),
    passwordFile,
    password: passwordFile === undefined ? undefined : readSecret(resolvePath('passwordFile', passwordFile), 'passwordFile').toString('utf8').replace(/\r?\n$/, ''),
    caFile,
    ca: caFile === undefined ? undefined : readSecret(resolvePath('caFile', caFile), 'caFile'),
    discovery: (given.discovery as boolean | undefined) ?? MQTT_DEFAULTS.discovery,
    discoveryPrefix,
    commands: (given.commands as boolean | undefined) ?? MQTT_DEFAULTS.commands,
  }
}

function readSecret(file: string, field: string): Buffer {
  try {
    return readFileSync(file)
  } catch (err) {
    throw mqttError(field, `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`)
  }
}

/** The settings as logged: the password and CA bytes left out. */
export function describeMqtt(s: MqttSettings): Record<string, unknown> {
  const url = new URL(s.url)
  return {
    url: `${url.protocol}//${url.host}`,
    topicPrefix: s.topicPrefix,
    username: s.username,
    password: s.password === undefined ? undefined : 'from passwordFile',
    caFile: s.caFile,
    discovery: s.discovery,
    discoveryPrefix: s.discoveryPrefix,
    commands: s.commands,
  }
}
