import { fromJson, toJson, type JsonValue } from '../daemon/json-values'

/**
 * A value from the command line: JSON when it parses as JSON (`21.5`, `true`, `null`,
 * `{"a":1}`, `[1,2]`, `"quoted"`, `{"$bytes":"AAE="}` for bytes), else the text itself.
 * Integers beyond 2^53 stay text rather than silently losing digits.
 */
export function parseCliValue(text: string, forceString = false): unknown {
  if (forceString) return text
  if (/^\s*-?\d+\s*$/.test(text) && !Number.isSafeInteger(Number(text))) return text
  let parsed: JsonValue
  try {
    parsed = JSON.parse(text) as JsonValue
  } catch {
    return text
  }
  if (typeof parsed === 'number' && !Number.isFinite(parsed)) return text
  return fromJson(parsed)
}

/** For people and `$(dsn get ...)`: strings bare, everything else as compact JSON. */
export function formatValue(value: JsonValue | undefined): string {
  if (value === undefined) return ''
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/** The JSON line for --json output. */
export function jsonLine(value: unknown): string {
  return JSON.stringify(toJson(value) ?? null) + '\n'
}

/** Rows as aligned columns (the last column unpadded). */
export function columns(rows: string[][]): string {
  if (rows.length === 0) return ''
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)))
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')).join('\n') + '\n'
}
