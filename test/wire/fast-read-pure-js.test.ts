// The CBOR fast path against pure-JS cbor-x, the decoder the bundle ships (scripts/ bundles
// cbor-x without its native extractor): test/wire/fixtures/fast-read-differential.ts again,
// with native acceleration off before cbor-x is first loaded.
import t from 'tap'

process.env.CBOR_NATIVE_ACCELERATION_DISABLED = 'true'

t.test('pure-JS cbor-x', async (t) => {
  const { isNativeAccelerationEnabled } = await import('cbor-x')
  t.equal(isNativeAccelerationEnabled, false, 'cbor-x runs without its native extractor')
  const { fastReadDifferential } = await import('./fixtures/fast-read-differential')
  fastReadDifferential(t)
})
