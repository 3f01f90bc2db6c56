/**
 * The one validation of state keys and values, used by the writer (set(), send()) and by
 * every receiver (delta and snapshot bodies, direct messages), so a node never accepts what
 * a peer would refuse. What every node holds is plain data:
 * - null, booleans, numbers, bigints, well-formed strings, Dates, `undefined` inside containers;
 * - bytes as `Uint8Array` (never a Node `Buffer`, which is what cbor-x hands out), copied so
 *   a held value shares no memory with a datagram; other typed arrays likewise copied;
 * - arrays, and objects built member by member with defineProperty, so a member named
 *   `__proto__` stays a member (cbor-x renames it `__proto_`: we decode maps as Maps instead);
 *   a CBOR map's number/boolean/null keys become strings, as JSON would; a Set becomes an array.
 * Refused: cycles, shared-reference bombs (over `budget`), class instances, functions,
 * symbols, strings that are not well-formed Unicode (a lone UTF-16 surrogate would arrive as
 * U+FFFD: the receiver would hold another string) and nesting deeper than MAX_DEPTH.
 * The walk is recursive but never deeper than MAX_DEPTH + 1, so depth 2000 is a clean refusal.
 */
export const MAX_DEPTH = 64

export type PlainResult = { ok: true; value: unknown } | { ok: false; problem: string }

/** `budget`: one unit per node plus the length of each string and byte string. */
export function toPlainValue(value: unknown, budget: number): PlainResult {
  // Most sensor values are scalars: accepted here without the walk's closures, Set and path
  // (~0.8 of the 6.6 KB a receiver allocated per datagram, bench/micro/alloc.ts). Anything
  // refused still goes through the walk, which words the reason.
  if (acceptedScalar(value, budget)) return { ok: true, value }
  return walkPlainValue(value, budget)
}

/** What the walk accepts at depth 0 without descending: null, undefined, a boolean, number, bigint, or a well-formed string in budget. */
function acceptedScalar(value: unknown, budget: number): boolean {
  switch (typeof value) {
    case 'string':
      return budget >= 1 + value.length && isWellFormed(value)
    case 'number': case 'boolean': case 'bigint': case 'undefined':
      return budget >= 1
    case 'object':
      return value === null && budget >= 1
    default:
      return false
  }
}

function walkPlainValue(value: unknown, budget: number): PlainResult {
  let remaining = budget
  const ancestors = new Set<object>()
  const path: Array<string | number> = []
  let problem = ''
  const fail = (why: string): undefined => {
    problem = `${pathText(path)}${why}`
    return undefined
  }
  const walk = (v: unknown, depth: number): { v: unknown } | undefined => {
    if (--remaining < 0) return fail(`expands beyond ${budget} units (shared references?)`)
    if (depth > MAX_DEPTH) return fail(`is nested deeper than ${MAX_DEPTH} levels`)
    switch (typeof v) {
      case 'string':
        remaining -= v.length
        if (remaining < 0) return fail(`expands beyond ${budget} units`)
        if (!isWellFormed(v)) return fail('is a string that is not well-formed Unicode (lone UTF-16 surrogate)')
        return { v }
      case 'number': case 'boolean': case 'bigint': case 'undefined':
        return { v }
      case 'object':
        break
      default:
        return fail(`is a ${typeof v}, not plain data`)
    }
    if (v === null) return { v }
    if (ArrayBuffer.isView(v)) {
      remaining -= v.byteLength
      if (remaining < 0) return fail(`expands beyond ${budget} units`)
      if (v instanceof DataView) return fail('is a DataView, not plain data')
      const typed = v as unknown as Uint8Array
      return { v: v instanceof Uint8Array ? new Uint8Array(typed) : typed.slice() }
    }
    if (v instanceof Date) return { v: new Date(v.getTime()) }
    if (ancestors.has(v)) return fail('holds a cycle')
    const proto = Object.getPrototypeOf(v)
    ancestors.add(v)
    let out: unknown
    if (Array.isArray(v) || v instanceof Set) {
      const list: unknown[] = []
      let i = 0
      for (const inner of v as Iterable<unknown>) {
        path.push(i++)
        const r = walk(inner, depth + 1)
        if (!r) return undefined
        path.pop()
        list.push(r.v)
      }
      out = list
    } else if (v instanceof Map || proto === Object.prototype || proto === null) {
      const obj: Record<string, unknown> = {}
      const pairs = v instanceof Map ? v.entries() : Object.entries(v)
      for (const [k, inner] of pairs as Iterable<[unknown, unknown]>) {
        const key = memberName(k)
        if (key === undefined) return fail(`has a map key of type ${typeof k}: keys are strings (numbers become strings)`)
        if (!isWellFormed(key)) return fail('has a member name that is not well-formed Unicode (lone UTF-16 surrogate)')
        remaining -= key.length
        path.push(key)
        const r = walk(inner, depth + 1)
        if (!r) return undefined
        path.pop()
        Object.defineProperty(obj, key, { value: r.v, enumerable: true, writable: true, configurable: true })
      }
      out = obj
    } else {
      return fail(`is a ${proto?.constructor?.name ?? 'class'} instance, not plain data`)
    }
    ancestors.delete(v)
    return { v: out }
  }
  const result = walk(value, 0)
  return result ? { ok: true, value: result.v } : { ok: false, problem }
}

/**
 * The budget for a value decoded from `encodedBytes` of CBOR. What our writers encode costs at
 * least a byte per unit (a node, a character, a byte); a Map's number keys, which become text,
 * at most ~2.7 units a byte (a float64 key of 9 bytes, "-1.2345678901234567e-300"). Shared
 * references (tags 28/29) do far more: 91 bytes decoding to 4,095 arrays and 4,096 strings.
 * A foreign encoder's float16 map keys (3 bytes, ~22 characters) can exceed it too: refused.
 */
export function decodedBudget(encodedBytes: number): number {
  return 4 * encodedBytes + 16
}

export function isPlainValue(value: unknown, budget: number): boolean {
  return toPlainValue(value, budget).ok
}

/** Why `key` cannot be a state key, or undefined when it can. */
export function keyProblem(key: unknown, maxKeyBytes: number): string | undefined {
  if (typeof key !== 'string') return `key must be a string (got ${key === null ? 'null' : typeof key})`
  if (key.length === 0) return `key must not be empty: a key is 1 to ${maxKeyBytes} bytes of UTF-8`
  if (!isWellFormed(key)) return 'key is not well-formed Unicode (it holds a lone UTF-16 surrogate, e.g. a cut emoji)'
  const length = Buffer.byteLength(key)
  if (length > maxKeyBytes) return `key is ${length} bytes (UTF-8); maxKeyBytes is ${maxKeyBytes}`
  return undefined
}

/** No lone surrogate: in a `u` regex a paired surrogate is one code point and does not match. */
const LONE_SURROGATE = /\p{Surrogate}/u

/** For Node 18 (Debian's), which lacks String.prototype.isWellFormed; exported for the test that holds both to one answer. */
export function isWellFormedByRegex(text: string): boolean {
  return !LONE_SURROGATE.test(text)
}

const nativeIsWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed

/**
 * Runs on every key and string value, both ends: Node 20's built-in scan where there is one,
 * which touches far less code than a regex match (the whole path is footprint, bench/NOTES.md).
 */
export const isWellFormed: (text: string) => boolean = nativeIsWellFormed ? (text) => nativeIsWellFormed.call(text) : isWellFormedByRegex

function memberName(k: unknown): string | undefined {
  if (typeof k === 'string') return k
  if (typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean' || k === null) return String(k)
  return undefined
}

function pathText(path: ReadonlyArray<string | number>): string {
  let out = 'value'
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`
  return `${out} `
}
