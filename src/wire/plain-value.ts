/**
 * What a decoded value may be: plain data, as an honest encoder produces. Refuses cycles and
 * shared-reference bombs (CBOR tags 28/29 let 171 bytes expand to megabytes), class instances
 * (Error and RegExp from exotic tags, or anything with its own prototype), and nesting deeper than MAX_DEPTH. `budget` bounds
 * the expanded size: one unit per node plus the length of each string and byte string.
 */
export function isPlainValue(value: unknown, budget: number): boolean {
  let remaining = budget
  const ancestors = new Set<object>()
  const walk = (v: unknown, depth: number): boolean => {
    if (--remaining < 0 || depth > MAX_DEPTH) return false
    switch (typeof v) {
      case 'string':
        remaining -= v.length
        return remaining >= 0
      case 'number': case 'boolean': case 'bigint': case 'undefined':
        return true
      case 'object':
        break
      default:
        return false
    }
    if (v === null) return true
    if (ArrayBuffer.isView(v)) {
      remaining -= v.byteLength
      return remaining >= 0
    }
    if (v instanceof Date) return true
    const proto = Object.getPrototypeOf(v)
    const container = Array.isArray(v) || v instanceof Map || v instanceof Set || proto === Object.prototype || proto === null
    if (!container || ancestors.has(v)) return false
    ancestors.add(v)
    // A Map with non-string keys (and a Set) is what the encoder makes of a user's Map or Set.
    const inners = v instanceof Map ? [...v.keys(), ...v.values()] : v instanceof Set ? [...v] : Object.values(v)
    for (const inner of inners) if (!walk(inner, depth + 1)) return false
    ancestors.delete(v)
    return true
  }
  return walk(value, 0)
}

const MAX_DEPTH = 64
