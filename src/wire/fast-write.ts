/**
 * What a writer encodes on every set(), written without cbor-x: heads, integers, floats,
 * strings, booleans and null, in exactly the bytes cbor-x's encoder gives for them
 * (test/wire/fast-write.test.ts compares the two byte for byte). That is shortest-form heads,
 * integers below 2^32 as integers and every other number as a float64, as cbor-x does with
 * our options. Why: the data frame and the body were each one cbor-x encode into its shared
 * buffer, then a copy out of it; here each is one allocation written in place, and the cold
 * writer does not bring cbor-x's encoder back into cache for them (bench/micro/cold.ts).
 */
import { headBytes, HOST_LITTLE_ENDIAN, MAJOR_TEXT, writeHead } from './cbor-head'

const textEncoder = new TextEncoder()

/** Bytes of a non-negative integer as cbor-x writes it: an integer below 2^32, a float64 from
 * there. Only for non-negative integers: anything else would be truncated (callers check). */
export function uintBytes(n: number): number {
  return n < 0x100000000 ? headBytes(n) : 9
}

export function writeUint(out: Uint8Array, at: number, n: number): number {
  return n < 0x100000000 ? writeHead(out, at, 0, n) : writeFloat64(out, at, n)
}

const f64 = new Float64Array(1)
const f64Bytes = new Uint8Array(f64.buffer)

function writeFloat64(out: Uint8Array, at: number, value: number): number {
  out[at] = 0xfb
  f64[0] = value
  if (HOST_LITTLE_ENDIAN) for (let i = 0; i < 8; i++) out[at + 1 + i] = f64Bytes[7 - i]
  else out.set(f64Bytes, at + 1)
  return at + 9
}

/** The UTF-8 bytes of a well-formed string: short ASCII by a loop, the rest by TextEncoder. */
export function utf8(text: string): Uint8Array {
  if (!isShortAscii(text)) return textEncoder.encode(text)
  const out = new Uint8Array(text.length)
  writeAscii(out, 0, text)
  return out
}

/** A text string item from its UTF-8 bytes. */
export function textItem(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(headBytes(bytes.length) + bytes.length)
  out.set(bytes, writeHead(out, 0, MAJOR_TEXT, bytes.length))
  return out
}

/**
 * Writes short ASCII `text` (isShortAscii: its UTF-8 bytes are its characters) at out[at..] and
 * returns where it ends: keys and most string values then go into an item or a body in place.
 */
export function writeAscii(out: Uint8Array, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i)
  return at + text.length
}

/** Whether `text` is short ASCII, as writeAscii takes it: then its UTF-8 length is its length. */
export function isShortAscii(text: string): boolean {
  const n = text.length
  if (n > 64) return false
  for (let i = 0; i < n; i++) if (text.charCodeAt(i) >= 0x80) return false
  return true
}

/**
 * null, a boolean, a number or a well-formed string as cbor-x encodes it. Strings over
 * 2^32 - 1 bytes cannot be state values (maxValueBytes): the caller refused them before.
 */
export function encodeScalarItem(value: null | boolean | number | string): Uint8Array {
  if (value === null) return Uint8Array.of(0xf6)
  if (value === true) return Uint8Array.of(0xf5)
  if (value === false) return Uint8Array.of(0xf4)
  if (typeof value === 'string') {
    // Short ASCII is written in place, one array for the item; anything else through its UTF-8 bytes.
    if (!isShortAscii(value)) return textItem(utf8(value))
    const item = new Uint8Array(headBytes(value.length) + value.length)
    writeAscii(item, writeHead(item, 0, MAJOR_TEXT, value.length), value)
    return item
  }
  let out: Uint8Array
  if (value >>> 0 === value) writeHead((out = new Uint8Array(headBytes(value))), 0, 0, value)
  else if (value < 0 && value >= -0x100000000 && Math.floor(value) === value) {
    // cbor-x: a negative integer of 32 bits or less as an integer (-1 - n), any other number a float64.
    writeHead((out = new Uint8Array(headBytes(-1 - value))), 0, 1, -1 - value)
  } else writeFloat64((out = new Uint8Array(9)), 0, value)
  return out
}
