import { createHmac, createSecretKey, createHash, randomBytes, createCipheriv } from 'node:crypto'
import { hchacha, xchacha20 } from '@noble/ciphers/chacha'
const frame = randomBytes(60), keys = Array.from({ length: 9 }, () => randomBytes(32)), kos = keys.map((k) => createSecretKey(k))
function time(label: string, fn: () => void) { for (let i = 0; i < 2000; i++) fn(); const n = 20000, t = performance.now(); for (let i = 0; i < n; i++) fn(); console.log(label, (((performance.now() - t) * 1000) / n).toFixed(2), 'us') }
time('hmac buf x9', () => { for (const k of keys) createHmac('sha256', k).update(frame).digest() })
time('hmac keyobj x9', () => { for (const k of kos) createHmac('sha256', k).update(frame).digest() })
time('sha256 + xchacha20 block x9', () => { const h = createHash('sha256').update(frame).digest(); const n = h.subarray(0, 24); for (const k of keys) xchacha20(k, n, new Uint8Array(8)) })
time('sha256 + chacha20-ecb aes? (aes-256-ecb 1 block) x9', () => { const h = createHash('sha256').update(frame).digest().subarray(0, 16); for (const k of keys) { const c = createCipheriv('aes-256-ecb', k, null); c.setAutoPadding(false); c.update(h) } })
const words = keys.map((k) => new Uint32Array(k.buffer.slice(k.byteOffset, k.byteOffset + 32))), sigma = new Uint32Array(new Uint8Array(Buffer.from('expand 32-byte k')).buffer), block = new Uint32Array(8)
// Protocol 4's MAC: one SHA-256 of the frame, then one HChaCha20 block per receiver (src/seal/pair-keys.ts).
time('sha256 + hchacha20 x9 (protocol 4)', () => { const h = createHash('sha256').update(frame).digest(); const input = new Uint32Array(h.buffer.slice(h.byteOffset, h.byteOffset + 16)); for (const w of words) hchacha(sigma, w, input, block) })
time('sha256 only', () => { createHash('sha256').update(frame).digest() })
time('ed25519-ish baseline: 1 hmac', () => { createHmac('sha256', keys[0]).update(frame).digest() })
