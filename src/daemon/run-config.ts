import { readFileSync, statSync } from 'node:fs'
import * as path from 'node:path'
import { resolveConfig, type DsnConfig } from '../config'
import { DsnError } from '../errors'
import { resolveMqttSettings, type MqttSettings } from '../mqtt/config'
import { parseEnv, unknownEnvWarnings } from './env'
import { HTTP_FIELDS, loadHttpSettings, type HttpSettings } from './http-config'
import { isLogLevel, LOG_LEVELS, type LogLevel } from './logger'
import { socketPathFrom } from './socket-path'

/**
 * `dsn run` settings: defaults < JSON config file < environment (ENV_VARS) < command-line flags.
 * The file holds DsnConfig fields plus three daemon fields: `logLevel`, `socket`, and
 * `networkKeyFile` (a path to read the key from, so the file itself can be world-readable).
 */
export interface RunSettings {
  config: DsnConfig
  socketPath: string
  logLevel: LogLevel
  configPath: string | undefined
  /** The HTTP listener (metrics, dashboard), off when undefined. */
  http?: HttpSettings
  /** The MQTT bridge (`mqtt` in the file, DSN_MQTT_*), undefined when no url is set. */
  mqtt?: MqttSettings
  /** Things worth a warning in the log once the logger exists (never the key itself). */
  warnings: string[]
}

export interface RunFlags {
  config?: string
  socket?: string
}

const DAEMON_FIELDS = ['logLevel', 'socket', 'networkKeyFile', 'persist', 'mqtt', ...HTTP_FIELDS] as const
/** The own-state file's name in the credential (state) directory when `persist` is on. */
export const STATE_FILE = 'state.cbor'

export function loadRunSettings(flags: RunFlags, env: NodeJS.ProcessEnv): RunSettings {
  const fromEnv = parseEnv(env)
  const configPath = flags.config ?? fromEnv.config
  const file = configPath === undefined ? {} : readConfigFile(configPath)
  const warnings: string[] = unknownEnvWarnings(env)

  const fileOptions: Record<string, unknown> = { ...file }
  for (const field of DAEMON_FIELDS) delete fileOptions[field]
  const fileLevel = file.logLevel
  if (fileLevel !== undefined && (typeof fileLevel !== 'string' || !isLogLevel(fileLevel))) {
    throw new DsnError('DSN_BAD_CONFIG', `config file ${configPath}: logLevel must be one of ${LOG_LEVELS.join(', ')}`)
  }
  for (const field of ['socket', 'networkKeyFile'] as const) {
    if (file[field] !== undefined && (typeof file[field] !== 'string' || file[field] === '')) {
      throw new DsnError('DSN_BAD_CONFIG', `config file ${configPath}: ${field} must be a path`)
    }
  }

  const options: Record<string, unknown> = { ...fileOptions, ...fromEnv.options }
  if (options.credentialDir === undefined && fromEnv.stateDirectory !== undefined) options.credentialDir = fromEnv.stateDirectory

  // The key: environment beats the file; within one source, a key and a key file are ambiguous.
  const envKey = fromEnv.options.networkKey !== undefined
  if (envKey && fromEnv.networkKeyFile !== undefined) {
    throw new DsnError('DSN_BAD_CONFIG', 'set only one of DSN_NETWORK_KEY and DSN_NETWORK_KEY_FILE')
  }
  if (!envKey) {
    const keyFile = fromEnv.networkKeyFile ?? (typeof file.networkKeyFile === 'string' ? resolveFrom(configPath, file.networkKeyFile) : undefined)
    if (fromEnv.networkKeyFile === undefined && file.networkKeyFile !== undefined && file.networkKey !== undefined) {
      throw new DsnError('DSN_BAD_CONFIG', `config file ${configPath}: set only one of networkKey and networkKeyFile`)
    }
    if (keyFile !== undefined) options.networkKey = readKeyFile(keyFile, fromEnv.networkKeyFile !== undefined ? 'DSN_NETWORK_KEY_FILE' : 'networkKeyFile')
  }
  if (options.networkKey === undefined) {
    throw new DsnError(
      'DSN_BAD_CONFIG',
      'no network key: set DSN_NETWORK_KEY or DSN_NETWORK_KEY_FILE, or networkKey / networkKeyFile in the config file (make a key with `dsn keygen`)',
    )
  }
  if (typeof options.networkKey === 'string') options.networkKey = options.networkKey.trim()
  if (configPath !== undefined && file.networkKey !== undefined && !envKey && worldReadable(configPath)) {
    warnings.push(`config file ${configPath} holds networkKey and is readable by other users: chmod 600 it, or move the key to networkKeyFile / DSN_NETWORK_KEY_FILE`)
  }

  if (file.persist !== undefined && typeof file.persist !== 'boolean') {
    throw new DsnError('DSN_BAD_CONFIG', `config file ${configPath}: persist must be true or false`)
  }
  // `persist` (on unless turned off) keeps the own state in the state directory; off wins over a path.
  const persist = fromEnv.persist ?? (file.persist as boolean | undefined) ?? true
  const config = resolveConfig(options)
  if (!persist) config.persistPath = undefined
  else config.persistPath ??= path.join(config.credentialDir, STATE_FILE)
  const mqtt = resolveMqttSettings(file.mqtt, fromEnv.mqtt, configPath)
  return {
    config,
    mqtt,
    socketPath: socketPathFrom(flags.socket ?? fromEnv.socket ?? (file.socket as string | undefined), env),
    logLevel: fromEnv.logLevel ?? (fileLevel as LogLevel | undefined) ?? 'info',
    configPath,
    http: loadHttpSettings(file, configPath, fromEnv),
    warnings,
  }
}

/** nodeId and credentialDir as `dsn run` would use them, without needing the network key (for `dsn id`). */
export function loadIdentitySettings(flags: RunFlags, env: NodeJS.ProcessEnv): { nodeId: string; credentialDir: string } {
  const fromEnv = parseEnv(env)
  const configPath = flags.config ?? fromEnv.config
  const file = configPath === undefined ? {} : readConfigFile(configPath)
  const options: Record<string, unknown> = { ...file, ...fromEnv.options }
  if (options.credentialDir === undefined && fromEnv.stateDirectory !== undefined) options.credentialDir = fromEnv.stateDirectory
  // Validate exactly as `run` does, with a stand-in key: only nodeId and credentialDir are used.
  delete options.logLevel
  delete options.socket
  delete options.networkKeyFile
  for (const field of HTTP_FIELDS) delete options[field]
  delete options.persist
  delete options.mqtt
  const { nodeId, credentialDir } = resolveConfig({ ...options, networkKey: '0'.repeat(64) })
  return { nodeId, credentialDir }
}

function readConfigFile(configPath: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(configPath, 'utf8')
  } catch (err) {
    throw new DsnError('DSN_BAD_CONFIG', `config file ${configPath}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    // JSON.parse messages quote a little of the input, which could be the key: give only the place.
    throw new DsnError('DSN_BAD_CONFIG', `config file ${configPath}: not valid JSON (${jsonErrorPlace(text, err as Error)})`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new DsnError('DSN_BAD_CONFIG', `config file ${configPath}: must hold a JSON object of options`)
  }
  return parsed as Record<string, unknown>
}

/** "line L, column C" of a JSON.parse error (Node 18 gives a position, Node 20+ sometimes a line and column). */
export function jsonErrorPlace(text: string, err: Error): string {
  const lineColumn = /line (\d+) column (\d+)/.exec(err.message)
  if (lineColumn) return `line ${lineColumn[1]}, column ${lineColumn[2]}`
  const position = /position (\d+)/.exec(err.message)
  // No position: the text ended early (e.g. "Unexpected end of JSON input").
  const at = position ? Number(position[1]) : text.length
  const before = text.slice(0, at).split('\n')
  const what = position ? '' : 'unexpected end of the file at '
  return `${what}line ${before.length}, column ${before[before.length - 1].length + 1}`
}

function readKeyFile(file: string, source: string): string {
  try {
    return readFileSync(file, 'utf8').trim()
  } catch (err) {
    throw new DsnError('DSN_BAD_CONFIG', `${source} ${file}: cannot read the network key (${(err as NodeJS.ErrnoException).code ?? String(err)})`)
  }
}

function resolveFrom(configPath: string | undefined, file: string): string {
  return configPath === undefined ? file : path.resolve(path.dirname(configPath), file)
}

function worldReadable(file: string): boolean {
  try {
    return (statSync(file).mode & 0o004) !== 0
  } catch {
    return false
  }
}
