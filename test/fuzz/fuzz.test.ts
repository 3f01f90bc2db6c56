// A short run of the fuzzer (npm run fuzz runs 1,000,000): hostile datagrams into one
// engine's receive path. Nothing throws, memory stays bounded, honest state is unchanged,
// junk is never accepted and every drop is counted by reason. Then the probes for the
// hostile-input bugs found in src/, as TODO until src/ is fixed.
import t from 'tap'
import { formatReport, runFuzz } from './harness'
import { runProbes } from './probes'

const COUNT = Number(process.env.DSN_FUZZ_COUNT ?? 50_000)
const SEED = Number(process.env.DSN_FUZZ_SEED ?? 20251125)

t.test(`fuzz: ${COUNT} hostile datagrams`, async (t) => {
  const report = runFuzz({ count: COUNT, seed: SEED })
  for (const line of formatReport(report).split('\n')) t.comment(line)
  for (const v of report.invariants) t.ok(v.ok, `${v.name}: ${v.detail}`)
  t.ok(Object.keys(report.drops).length >= 15, `refusals spread over ${Object.keys(report.drops).length} drop reasons`)
})

t.test('probes for known hostile-input bugs in src/ (TODO: fixed when they pass)', async (t) => {
  for (const p of runProbes(SEED)) t.ok(p.ok, `${p.name}: ${p.detail} [${p.where}]`)
})
