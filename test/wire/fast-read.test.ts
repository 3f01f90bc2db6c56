// The CBOR fast path against cbor-x as the tests load it (with its native string extractor
// where the optional cbor-extract is installed): test/wire/fixtures/fast-read-differential.ts.
import t from 'tap'
import { fastReadDifferential } from './fixtures/fast-read-differential'

fastReadDifferential(t)
