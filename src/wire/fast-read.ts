/**
 * The few CBOR shapes nearly every datagram is made of, read without cbor-x's general decoder:
 * definite-length arrays (at most MAX_DEPTH deep), integers with heads of up to 4 bytes, float32
 * and float64, ASCII text, byte strings, false, true, null and undefined. Anything else, and
 * input that is not exactly one such item, gives NOT_FAST: the caller then decodes with cbor-x,
 * so what is accepted, what is refused and how it reads is cbor-x's either way. Each value read
 * here is the one cbor-x gives for the same bytes (byte strings are views, as cbor-x's are):
 * the differential tests (test/wire/fixtures/fast-read-differential.ts, against cbor-x with and
 * without its native extractor) hold the two together on every shape and on fuzzed bytes. That
 * equivalence is for the options our Encoder has (wire/frame.ts): a `useFloat32`, `copyBuffers`
 * or `int64AsNumber` there would change cbor-x's results, and those tests would say so.
 *
 * Why: a receiver decoded three times per datagram (frame, body, value), and cbor-x hangs a
 * DataView on every array it reads and builds each string anew: this reads the same with ~15%
 * less allocated per datagram (bench/micro/alloc.ts). On a cold cache the gain is small: there
 * a step costs mostly the lines and pages it touches (bench/micro/cold.ts, "frame decode").
 */
import { HOST_LITTLE_ENDIAN } from './cbor-head'

export const NOT_FAST: unique symbol = Symbol('not-fast')

/** Frame, body, a value's array: deeper values are rare and go to cbor-x. */
const MAX_DEPTH = 3
/** Longer text goes to cbor-x (its extraction is faster there than a loop of ours). */
const MAX_TEXT = 64

const EMPTY = new Uint8Array(0)
let src: Uint8Array = EMPTY
let at = 0
let end = 0

// Floats are read through scratch arrays: no DataView per input (cbor-x keeps one on each).
const f64 = new Float64Array(1)
const f32 = new Float32Array(f64.buffer, 0, 1)
const scratch = new Uint8Array(f64.buffer)

/** One CBOR item of the shapes above, or NOT_FAST. Never throws. */
export function fastRead(bytes: Uint8Array): unknown {
  src = bytes
  at = 0
  end = bytes.length
  const value = item(0)
  const whole = at === end
  src = EMPTY // hold no datagram between calls
  return whole ? value : NOT_FAST
}

function item(depth: number): unknown {
  if (at >= end) return NOT_FAST
  const head = src[at++]
  const major = head >> 5
  const info = head & 0x1f
  if (major === 7) return simpleOrFloat(info)
  let n: number
  if (info < 24) n = info
  else if (info === 24) {
    if (at + 1 > end) return NOT_FAST
    n = src[at++]
  } else if (info === 25) {
    if (at + 2 > end) return NOT_FAST
    n = (src[at] << 8) | src[at + 1]
    at += 2
  } else if (info === 26) {
    if (at + 4 > end) return NOT_FAST
    n = src[at] * 0x1000000 + ((src[at + 1] << 16) | (src[at + 2] << 8) | src[at + 3])
    at += 4
  } else return NOT_FAST // 8-byte heads (cbor-x makes bigints), indefinite lengths, reserved
  switch (major) {
    case 0:
      return n
    case 1:
      return -1 - n
    case 2:
      if (n > end - at) return NOT_FAST
      return src.subarray(at, (at += n))
    case 3:
      return n <= MAX_TEXT && n <= end - at ? ascii(n) : NOT_FAST
    case 4: {
      if (depth >= MAX_DEPTH || n > end - at) return NOT_FAST
      const array = new Array<unknown>(n)
      for (let i = 0; i < n; i++) {
        const v = item(depth + 1)
        if (v === NOT_FAST) return NOT_FAST
        array[i] = v
      }
      return array
    }
    default:
      return NOT_FAST // maps and tags
  }
}

function simpleOrFloat(info: number): unknown {
  switch (info) {
    case 20:
      return false
    case 21:
      return true
    case 22:
      return null
    case 23:
      return undefined
    case 26:
      if (at + 4 > end) return NOT_FAST
      load(4)
      return f32[0]
    case 27:
      if (at + 8 > end) return NOT_FAST
      load(8)
      return f64[0]
    default:
      return NOT_FAST // half floats, other simple values, break
  }
}

/** The next `size` big-endian bytes into the scratch float, in the host's byte order. */
function load(size: number): void {
  if (HOST_LITTLE_ENDIAN) for (let i = 0; i < size; i++) scratch[size - 1 - i] = src[at + i]
  else for (let i = 0; i < size; i++) scratch[i] = src[at + i]
  at += size
}

/**
 * Recent strings by a hash of their bytes: origins, keys and many values recur from datagram to
 * datagram, and a hit costs no allocation (a string built a character at a time cost ~0.8 KB
 * per datagram, bench/micro/alloc.ts) and hands the same string, hash already known, to the
 * maps it is looked up in.
 */
const TEXT_SLOTS = 256
const recentText: string[] = new Array<string>(TEXT_SLOTS).fill('')

/** `n` bytes of ASCII as a string; NOT_FAST at the first byte outside it (cbor-x decodes UTF-8). */
function ascii(n: number): unknown {
  const start = at
  const stop = start + n
  let hash = n
  for (let i = start; i < stop; i++) {
    const c = src[i]
    if (c >= 0x80) return NOT_FAST
    hash = (Math.imul(hash, 31) + c) | 0
  }
  at = stop
  const slot = (hash ^ (hash >>> 16)) & (TEXT_SLOTS - 1)
  const known = recentText[slot]
  if (known.length === n && sameText(known, start)) return known
  const text = String.fromCharCode.apply(null, src.subarray(start, stop) as unknown as number[])
  recentText[slot] = text
  return text
}

function sameText(text: string, start: number): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) !== src[start + i]) return false
  return true
}
