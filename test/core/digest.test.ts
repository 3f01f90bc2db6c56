// The lazy digest (hashes taken when read) always equals the XOR of the current entries'
// hashes, however writes, deletes and reads interleave.
import t from 'tap'
import { entryHash, LazyDigest, xorInto } from '../../src/core/digest'
import { DIGEST_BYTES } from '../../src/wire/constants'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

function eager(entries: Map<string, Uint8Array>): Uint8Array {
  const digest = new Uint8Array(DIGEST_BYTES)
  for (const [key, bytes] of entries) xorInto(digest, entryHash(key, bytes))
  return digest
}

t.test('equals the eager XOR after any mix of puts, removes and reads', async (t) => {
  let seed = 7
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  for (let round = 0; round < 20; round++) {
    const lazy = new LazyDigest()
    const entries = new Map<string, Uint8Array>()
    for (let op = 0; op < 200; op++) {
      const key = `k${Math.floor(random() * 12)}`
      const r = random()
      if (r < 0.6) {
        const bytes = Uint8Array.of(Math.floor(random() * 4))
        lazy.put(key, bytes)
        entries.set(key, bytes)
      } else if (r < 0.8) {
        lazy.remove(key)
        entries.delete(key)
      } else if (hex(lazy.value) !== hex(eager(entries))) {
        t.fail(`round ${round}, op ${op}: read differs`)
        return
      }
    }
    t.equal(hex(lazy.value), hex(eager(entries)), `round ${round}`)
  }
})

t.test('an empty state, and one emptied again, has the zero digest', async (t) => {
  const lazy = new LazyDigest()
  t.equal(hex(lazy.value), '00'.repeat(DIGEST_BYTES))
  lazy.put('a', Uint8Array.of(1))
  t.not(hex(lazy.value), '00'.repeat(DIGEST_BYTES))
  lazy.put('a', Uint8Array.of(2))
  lazy.remove('a')
  t.equal(hex(lazy.value), '00'.repeat(DIGEST_BYTES))
})

t.test('a key rewritten many times between reads counts once, with its last value', async (t) => {
  const lazy = new LazyDigest()
  for (let i = 0; i < 100; i++) lazy.put('k', Uint8Array.of(i))
  t.equal(hex(lazy.value), hex(entryHash('k', Uint8Array.of(99))))
})
