import { toJson, type JsonValue } from '../../daemon/json-values'
import { SELF } from '../../daemon/protocol'
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
  ].join('\n'),
  flags: { string: { type: 'boolean', short: 's', help: 'store VALUE as a string, even if it is JSON' } },
  minArgs: 2,
  maxArgs: 2,
  async run({ positionals: [key, text], flags, socketPath, json, io }) {
    const value = toJson(parseCliValue(text, flags.string === true)) as JsonValue
    await withClient(socketPath, (c) => c.request({ op: 'set', key, value }))
    if (json) io.out(JSON.stringify({ ok: true, key, value }) + '\n')
    return 0
  },
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
