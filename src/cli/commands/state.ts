import { toJson, type JsonValue } from '../../daemon/json-values'
import { SELF } from '../../daemon/protocol'
import { UsageError } from '../args'
import type { Command } from '../context'
import { columns, formatValue, parseCliValue } from '../values'
import { withClient } from './client'

export const set: Command = {
  name: 'set',
  args: 'KEY VALUE',
  summary: "set a key of this node's state",
  details: [
    'VALUE is JSON when it parses as JSON (21.5, true, null, {"a":1}, [1,2], "quoted"), else a',
    'string; --string keeps it a string. Bytes: {"$bytes":"<base64>"}. A VALUE starting with',
    '"-" that is not a number goes after "--":  dsn set note -- --verbose',
    'Example (a sensor loop):',
    '  while sleep 5; do dsn set temperature "$(read_sensor)"; done',
    '',
    '--stdin: one write per line, all on one connection (one Node start for a whole stream):',
    '  "KEY VALUE" (split at the first space or tab; VALUE as above), or a JSON object of',
    '  several keys ({"temperature":21.5,"humidity":40}); blank lines are skipped. A bad line',
    '  (no value, an empty key, a value the daemon refuses) is reported on stderr as',
    '  "dsn set: line N: ..." and the stream goes on; the exit status is 1 if any line failed.',
    '  When the daemon restarts, the write waits for it (up to 10 s) instead of failing.',
    '  read_sensor_loop | dsn set --stdin',
  ].join('\n'),
  flags: {
    string: { type: 'boolean', short: 's', help: 'store VALUE as a string, even if it is JSON' },
    stdin: { type: 'boolean', help: 'read "KEY VALUE" lines (or JSON objects) from standard input' },
  },
  minArgs: 0,
  maxArgs: 2,
  async run(ctx) {
    const { positionals, flags, socketPath, json, io } = ctx
    if (flags.stdin === true) {
      if (positionals.length > 0) throw new UsageError(`--stdin reads KEY VALUE lines from standard input: give no arguments (got ${positionals.map((p) => JSON.stringify(p)).join(' ')})`)
      const { setFromStream } = await import('../set-stream')
      return setFromStream(ctx, io.stdin ?? process.stdin)
    }
    if (positionals.length !== 2) {
      throw new UsageError(`expects KEY VALUE, got ${positionals.length === 0 ? 'none' : positionals.map((p) => JSON.stringify(p)).join(' ')}`)
    }
    const [key, text] = positionals
    checkKey(key)
    const value = toJson(parseCliValue(text, flags.string === true)) as JsonValue
    await withClient(socketPath, (c) => c.request({ op: 'set', key, value }))
    if (json) io.out(JSON.stringify({ ok: true, key, value }) + '\n')
    return 0
  },
}

/** `dsn set "" 1` and the like: said in the shell's words, before the daemon is asked. */
export function checkKey(key: string): void {
  if (key === '') throw new UsageError('KEY is empty: a key is a name of one or more characters, e.g. temperature')
}

export const get: Command = {
  name: 'get',
  args: '[NODE [KEY]]',
  summary: 'read a key, a node\'s whole state, or every node\'s state',
  details: [
    `NODE "${SELF}" is this node. With KEY, prints the value alone: strings bare, others as JSON`,
    '(with --json, always JSON). Without KEY, prints NODE\'s state as "key value" lines; with no',
    'argument, every live node\'s state as "node key value" lines. Exit 6 when the node or key',
    'is unknown. Example:',
    '  t=$(dsn get sensor_hall temperature) && echo "hall: $t"',
  ].join('\n'),
  flags: {},
  minArgs: 0,
  maxArgs: 2,
  async run({ positionals: [node, key], socketPath, json, io }) {
    const result = await withClient(socketPath, (c) => c.request({ op: 'get', node, key }))
    if (json) io.out(JSON.stringify(result) + '\n')
    else if (key !== undefined) io.out(formatValue(result) + '\n')
    else if (node !== undefined) io.out(columns(stateRows(result)))
    else io.out(columns(Object.entries(asObject(result)).flatMap(([id, state]) => stateRows(state).map((row) => [id, ...row]))))
    return 0
  },
}

export const del: Command = {
  name: 'del',
  args: 'KEY',
  summary: "delete a key of this node's state",
  details: 'Deleting a key that is not set is not an error; with --json, "deleted" says whether it was set.',
  flags: {},
  minArgs: 1,
  maxArgs: 1,
  async run({ positionals: [key], socketPath, json, io }) {
    checkKey(key)
    const deleted = await withClient(socketPath, (c) => c.request({ op: 'del', key }))
    if (json) io.out(JSON.stringify({ ok: true, key, deleted }) + '\n')
    return 0
  },
}

function asObject(value: JsonValue): Record<string, JsonValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {}
}

function stateRows(state: JsonValue): string[][] {
  return Object.entries(asObject(state))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => [k, formatValue(v)])
}
