/**
 * JSON-lines logs on stdout, one object per line, for journald and `jq`:
 *   {"ts":"2025-01-01T00:00:00.000Z","level":"info","msg":"peer-up","nodeId":"hall",...}
 * `msg` is a stable event name (the same words as the node's events); details are fields.
 */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export function isLogLevel(text: string): text is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(text)
}

export type LogFields = Record<string, unknown>

// Defence in depth: these names never reach a log line, whatever a caller passes.
const SECRET_FIELDS = new Set(['networkKey', 'acceptedNetworkKeys', 'key_material', 'DSN_NETWORK_KEY'])
const RESERVED = new Set(['ts', 'level', 'msg'])

export class Logger {
  level: LogLevel

  constructor(
    private readonly write: (line: string) => void,
    level: LogLevel = 'info',
    private readonly now: () => Date = () => new Date(),
  ) {
    this.level = level
  }

  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(this.level)
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields)
  }

  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields)
  }

  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields)
  }

  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields)
  }

  log(level: LogLevel, msg: string, fields: LogFields = {}): void {
    if (!this.enabled(level)) return
    const line: LogFields = { ts: this.now().toISOString(), level, msg }
    for (const [name, value] of Object.entries(fields)) {
      if (value === undefined || RESERVED.has(name)) continue
      line[name] = SECRET_FIELDS.has(name) ? '[redacted]' : value instanceof Error ? errorFields(value) : value
    }
    this.write(safeStringify(line) + '\n')
  }
}

export function errorFields(error: Error): LogFields {
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? { code, message: error.message } : { message: error.message }
}

function safeStringify(line: LogFields): string {
  try {
    return JSON.stringify(line, (_name, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))
  } catch {
    return JSON.stringify({ ts: line.ts, level: line.level, msg: line.msg, logError: 'unserialisable fields' })
  }
}
