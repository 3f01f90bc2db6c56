/**
 * CBOR heads (RFC 8949 3.1), for the places that assemble CBOR around bytes already encoded
 * (data frames, bodies, the state file: wire/fast-write.ts) instead of encoding one large array: cbor-x's encoder
 * keeps one module-wide buffer, and a single large encode grows it to 4x that size for good,
 * after which every small value it returns is a view pinning a block that size.
 */
export const MAJOR_BYTES = 2
export const MAJOR_TEXT = 3
export const MAJOR_ARRAY = 4
/** The simple value undefined: a deleted key in a body. */
export const CBOR_UNDEFINED = 0xf7

/** Bytes of a head carrying `n` (a length or an unsigned integer below 2^32). */
export function headBytes(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5
}

/** Writes the head of `major` with `n` (< 2^32) at `at`; returns the position after it. */
export function writeHead(out: Uint8Array, at: number, major: number, n: number): number {
  const m = major << 5
  if (n < 24) {
    out[at] = m | n
    return at + 1
  }
  if (n < 0x100) {
    out[at] = m | 24
    out[at + 1] = n
    return at + 2
  }
  if (n < 0x10000) {
    out[at] = m | 25
    out[at + 1] = n >> 8
    out[at + 2] = n & 0xff
    return at + 3
  }
  out[at] = m | 26
  out[at + 1] = n >>> 24
  out[at + 2] = (n >>> 16) & 0xff
  out[at + 3] = (n >>> 8) & 0xff
  out[at + 4] = n & 0xff
  return at + 5
}

/** The head of an item of `major` type and `length`, in its shortest form (RFC 8949 4.2.1). */
export function cborHead(major: number, length: number): Uint8Array {
  const out = new Uint8Array(headBytes(length))
  writeHead(out, 0, major, length)
  return out
}

/** Whether this host stores numbers little-endian (CBOR's are big-endian): for the float scratch arrays. */
export const HOST_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1
