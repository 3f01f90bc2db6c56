// Both ends of the one key and value validation (issue 14), fuzzed with the same generator:
// whatever set() accepts, a receiver decodes to the same key, value and digest entry; whatever a
// receiver refuses, set() refused too. Seeded, so a failure replays.
import t from 'tap'
import { isDeepStrictEqual } from 'node:util'
import { decodeBody, encodeBody } from '../../src/core/body'
import { entryHash } from '../../src/core/digest'
import { checkKey, encodeValue } from '../../src/core/values'
import { DsnError } from '../../src/errors'
import { BodyKind } from '../../src/wire/constants'
import { cbor } from '../../src/wire/frame'
import { seededRandom } from '../sim/random'
import { Dice, edgeKey, edgeValue } from './values'

const MAX_KEY = 32
const MAX_VALUE = 4096
const ROUNDS = Number(process.env.DSN_FUZZ_VALIDATION_ROUNDS ?? 8000)
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

type Verdict = { ok: true; key: string; value: unknown; bytes: Uint8Array } | { ok: false; code: string; message: string }

function writer(key: string, value: unknown): Verdict {
  try {
    checkKey(key, MAX_KEY)
    const encoded = encodeValue(value, MAX_VALUE)
    return { ok: true, key, value: encoded.value, bytes: encoded.bytes }
  } catch (err) {
    if (!(err instanceof DsnError)) throw new Error(`set() threw a ${(err as Error).name}, not a DsnError: ${(err as Error).message}`)
    return { ok: false, code: err.code, message: err.message }
  }
}

/** The raw CBOR an older or foreign writer would have sent, when cbor-x can encode it at all. */
function rawEncoding(value: unknown): Uint8Array | undefined {
  try {
    return cbor.encode(value)
  } catch {
    return undefined
  }
}

t.test('writer and receiver agree on every generated key and value', async (t) => {
  const d = new Dice(seededRandom(1414))
  const tally: Record<string, number> = {}
  const disagreements: string[] = []
  for (let i = 0; i < ROUNDS && disagreements.length < 5; i++) {
    const key = edgeKey(d, MAX_KEY)
    const value = edgeValue(d)
    const w = writer(key, value)
    tally[w.ok ? 'accepted' : w.code] = (tally[w.ok ? 'accepted' : w.code] ?? 0) + 1
    if (w.ok) {
      const body = decodeBody(encodeBody(BodyKind.Delta, [{ key, bytes: w.bytes }]), MAX_KEY)
      const got = body?.entries[0]
      if (!body || body.refused.length > 0 || !got || got.key !== key) {
        disagreements.push(`round ${i}: set() accepted ${JSON.stringify(key)} but the receiver ${body ? `refused it: ${body.refused[0]?.problem}` : 'refused the body'}`)
      } else if (!isDeepStrictEqual(got.value, w.value)) {
        disagreements.push(`round ${i}: key ${JSON.stringify(key)}: the receiver holds another value than the writer`)
      } else if (!got.bytes || hex(entryHash(key, got.bytes)) !== hex(entryHash(key, w.bytes)) || hex(cbor.encode(got.value)) !== hex(w.bytes)) {
        disagreements.push(`round ${i}: key ${JSON.stringify(key)}: digest entries differ`)
      }
      continue
    }
    // A refusal for depth, size or key form: the raw encoding is refused by receivers too.
    // (Lone surrogates cannot reach a receiver as such, CBOR text being UTF-8: set() refuses
    // them because the receiver would hold U+FFFD instead; class instances and cycles likewise
    // have no CBOR form of their own.)
    if (/surrogate|instance|cycle|not plain data|cannot be encoded|undefined/.test(w.message)) continue
    const raw = w.code === 'DSN_BAD_KEY' ? encodeValue(1, MAX_VALUE).bytes : rawEncoding(value)
    if (raw === undefined) continue
    const body = decodeBody(encodeBody(BodyKind.Delta, [{ key: w.code === 'DSN_BAD_KEY' ? key : 'k', bytes: raw }]), MAX_KEY)
    if (w.code === 'DSN_VALUE_TOO_LARGE') continue // a receiver's own maxValueBytes applies in the replica, tested in test/core
    if (body && body.entries.length > 0) disagreements.push(`round ${i}: set() refused (${w.message}) what a receiver accepts`)
  }
  t.comment(`${ROUNDS} rounds: ${JSON.stringify(tally)}`)
  t.same(disagreements, [], 'no disagreement')
  t.ok((tally.accepted ?? 0) > ROUNDS / 10 && (tally.DSN_BAD_VALUE ?? 0) > ROUNDS / 20 && (tally.DSN_BAD_KEY ?? 0) > ROUNDS / 20, 'the generator reaches acceptance and both refusals')
})
