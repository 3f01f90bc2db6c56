/**
 * CBOR heads (RFC 8949 3.1), for the few places that assemble CBOR around bytes already
 * encoded (bodies, the state file) instead of encoding one large array: cbor-x's encoder
 * keeps one module-wide buffer, and a single large encode grows it to 4x that size for good,
 * after which every small value it returns is a view pinning a block that size.
 */
export const MAJOR_BYTES = 2
export const MAJOR_TEXT = 3
export const MAJOR_ARRAY = 4
/** The simple value undefined: a deleted key in a body. */
export const CBOR_UNDEFINED = 0xf7

/** The head of an item of `major` type and `length`, in its shortest form (RFC 8949 4.2.1). */
export function cborHead(major: number, length: number): Uint8Array {
  const m = major << 5
  if (length < 24) return Uint8Array.of(m | length)
  if (length < 0x100) return Uint8Array.of(m | 24, length)
  if (length < 0x10000) return Uint8Array.of(m | 25, length >> 8, length & 0xff)
  return Uint8Array.of(m | 26, (length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff)
}
