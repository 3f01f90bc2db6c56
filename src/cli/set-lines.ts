import type { JsonValue } from '../daemon/json-values'
import { toJson } from '../daemon/json-values'
import { parseCliValue } from './values'

/** One write of `dsn set --stdin`: the key and its value as the control socket carries it. */
export interface LineWrite {
  key: string
  value: JsonValue
}

export type ParsedLine = { ok: true; writes: LineWrite[] } | { ok: false; error: string }

/**
 * One line of `dsn set --stdin`: `KEY VALUE` (split at the first space or tab; VALUE by the
 * same rules as `dsn set KEY VALUE`), or a JSON object of several keys. A blank line is no write.
 */
export function parseSetLine(line: string, forceString: boolean): ParsedLine {
  const text = line.replace(/\r$/, '')
  if (text.trim() === '') return { ok: true, writes: [] }
  if (text.trimStart().startsWith('{')) return parseObjectLine(text)
  const match = /^(\S+)[ \t]+(.*)$/.exec(text.trimStart())
  if (!match) return { ok: false, error: `expected "KEY VALUE" or a JSON object, got ${quote(text)} (no value after the key)` }
  try {
    return { ok: true, writes: [{ key: match[1], value: toJson(parseCliValue(match[2], forceString)) as JsonValue }] }
  } catch (err) {
    return { ok: false, error: (err as Error).message }
  }
}

function parseObjectLine(text: string): ParsedLine {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return { ok: false, error: `a line starting with "{" must be a JSON object of keys and values, got ${quote(text)}` }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, error: `expected a JSON object of keys and values, got ${quote(text)}` }
  const writes = Object.entries(parsed as Record<string, JsonValue>).map(([key, value]) => ({ key, value }))
  const empty = writes.find((w) => w.key === '')
  if (empty) return { ok: false, error: 'a key is empty ("" in the object): keys are 1 or more characters' }
  return { ok: true, writes }
}

function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? text.slice(0, 60) + '...' : text)
}
