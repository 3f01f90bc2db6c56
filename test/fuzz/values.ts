// Random values and CBOR for the fuzzer: well-formed state values, and frame-shaped or
// free-form CBOR that should not decode into a frame. Not a test itself.
import type { RandomSource } from '../../src/core/types'
import { cbor } from '../../src/wire/frame'

export class Dice {
  constructor(readonly random: RandomSource) {}

  next(): number {
    return this.random.next()
  }

  int(n: number): number {
    return Math.floor(this.random.next() * n)
  }

  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }

  chance(p: number): boolean {
    return this.random.next() < p
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]
  }

  bytes(n: number): Uint8Array {
    return this.random.bytes(n)
  }

  /** Numbers a careless decoder trips on. */
  absurdNumber(): number {
    return this.pick([0, 1, 2, 65535, 65536, 2 ** 31 - 1, 2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER, this.int(2 ** 32), this.range(1, 5000)])
  }

  id(): string {
    return this.pick(['x', 'node', 'stranger', '']) + this.int(100_000).toString(36)
  }
}

/** A value a node may legitimately write: nested arrays, maps, strings, numbers, bytes. */
export function stateValue(d: Dice, depth = 0): unknown {
  const r = d.int(depth > 2 ? 6 : 9)
  switch (r) {
    case 0: return d.range(-1e6, 1e6)
    case 1: return d.next() * 1000 - 500
    case 2: return 'v'.repeat(d.int(40)) + d.int(1000)
    case 3: return d.chance(0.5)
    case 4: return null
    case 5: return Buffer.from(d.bytes(d.int(32)))
    case 6: return Array.from({ length: d.int(5) }, () => stateValue(d, depth + 1))
    case 7: return Object.fromEntries(Array.from({ length: d.int(4) }, (_, i) => [`f${i}`, stateValue(d, depth + 1)]))
    default: return { nested: [stateValue(d, depth + 1), { deep: stateValue(d, depth + 1) }] }
  }
}

/** Any CBOR-encodable junk, including types no frame field accepts. */
export function junkValue(d: Dice, depth = 0): unknown {
  const r = d.int(depth > 3 ? 10 : 13)
  switch (r) {
    case 0: return d.absurdNumber()
    case 1: return -d.absurdNumber() - 1
    case 2: return d.next() * 1e300
    case 3: return BigInt(d.absurdNumber()) * 2n ** 40n
    case 4: return 'j'.repeat(d.pick([0, 1, 64, 65, 200, 1000]))
    case 5: return d.chance(0.5)
    case 6: return null
    case 7: return undefined
    case 8: return Buffer.from(d.bytes(d.pick([0, 7, 8, 9, 31, 32, 33, 64, 300])))
    case 9: return NaN
    case 10: return Array.from({ length: d.int(10) }, () => junkValue(d, depth + 1))
    case 11: return Object.fromEntries(Array.from({ length: d.int(5) }, () => [d.id(), junkValue(d, depth + 1)]))
    default: return new Map([[junkValue(d, depth + 1), junkValue(d, depth + 1)]])
  }
}

/** CBOR bytes that cbor-x itself must refuse or that describe absurd structures. */
export function hostileCbor(d: Dice): Uint8Array {
  switch (d.int(8)) {
    case 0: return Buffer.concat([Buffer.alloc(d.pick([100, 1000, 10_000, 50_000]), 0x81), Buffer.of(0x00)]) // nesting bomb
    case 1: return Buffer.from('9b7fffffffffffffff', 'hex') // array of 2^63 items
    case 2: return Buffer.from('5b00000000ffffffff00', 'hex') // byte string of 4 GiB, 1 byte present
    case 3: return Buffer.from('bf' + '6161'.repeat(1) + '01', 'hex') // unterminated indefinite map
    case 4: return Buffer.from('c249' + '01'.repeat(9), 'hex') // bignum
    case 5: return Buffer.from('d9dfff8301020361', 'hex') // a record definition tag
    case 6: return Buffer.from('ff', 'hex') // lone break
    default: {
      const b = Buffer.from(cbor.encode(junkValue(d)))
      if (b.length > 0) b[d.int(b.length)] = d.int(256)
      return b
    }
  }
}

/**
 * Keys at the edges of what a node accepts (issue 14): empty, at and over maxKeyBytes in
 * UTF-8, emoji whole and cut in half (a lone surrogate), `__proto__` and other prototype names.
 */
export function edgeKey(d: Dice, maxKeyBytes: number): string {
  switch (d.int(9)) {
    case 0: return ''
    case 1: return 'k'.repeat(maxKeyBytes - 1 + d.int(3))
    case 2: return 'é'.repeat(Math.floor(maxKeyBytes / 2) - 1 + d.int(3))
    case 3: return '😀'.slice(0, 1) + '-temp'
    case 4: return 'temp-' + '😀'.slice(1)
    case 5: return d.pick(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])
    case 6: return '😀'.repeat(d.range(1, 40))
    case 7: return `sensor/${d.int(1000)}`
    default: return d.id() || 'k'
  }
}

/**
 * Values at the edges (issue 14): nesting around the depth limit, lone surrogates in strings and
 * member names, `__proto__` members, bytes as Buffer and Uint8Array, Maps with number keys,
 * Sets, Dates, class instances, and ordinary state values.
 */
export function edgeValue(d: Dice, depth = 0): unknown {
  switch (d.int(depth > 3 ? 8 : 14)) {
    case 0: return nested(d.range(60, 70), stateValue(d, 3))
    case 1: return d.pick(['\ud800', 'ok\udfff', '😀'.slice(0, 1), '😀', 'e\u0301'])
    case 2: return Buffer.from(d.bytes(d.int(8)))
    case 3: return new Uint8Array(d.bytes(d.int(8)))
    case 4: return d.chance(0.5) ? new Date(d.int(2 ** 40)) : null
    case 5: return d.pick([0, -0, 1.5, NaN, Infinity, 2 ** 53, -(2 ** 31), 10n, 2n ** 70n])
    case 6: return stateValue(d)
    case 7: return 'x'.repeat(d.int(50))
    case 8: return nested(d.pick([63, 64, 65, 2000]), 1)
    case 9: return memberwise([['__proto__', edgeValue(d, depth + 1)], ['a', edgeValue(d, depth + 1)]])
    case 10: return new Map<unknown, unknown>([[d.int(5), edgeValue(d, depth + 1)], ['s', edgeValue(d, depth + 1)]])
    case 11: return new Set([edgeValue(d, depth + 1), d.int(3)])
    case 12: return memberwise([[d.pick(['\udc00', 'ok', '__proto__']), edgeValue(d, depth + 1)]])
    default: return Array.from({ length: d.int(4) }, () => edgeValue(d, depth + 1))
  }
}

function nested(levels: number, leaf: unknown): unknown {
  let v = leaf
  for (let i = 0; i < levels; i++) v = [v]
  return v
}

/** An object whose members are set with defineProperty, as JSON.parse does ("__proto__" stays a member). */
function memberwise(entries: Array<[string, unknown]>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true })
  return out
}
