// The incarnation counter (src/node/credentials.ts): whole seconds of the clock, always above
// the stored one, and a damaged file never turns into a number no receiver accepts.
import t from 'tap'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { nextIncarnation } from '../../src/node/credentials'

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'dsn-incarnation-'))
t.teardown(() => fs.rmSync(base, { recursive: true, force: true }))
let n = 0
const dirWith = (stored: string | null): string => {
  const dir = path.join(base, `node-${++n}`)
  fs.mkdirSync(dir, { recursive: true })
  if (stored !== null) fs.writeFileSync(path.join(dir, 'incarnation'), stored)
  return dir
}
const NOW_MS = 1_754_000_000_123

t.test('seconds of the clock on first start, then always above the stored number', async (t) => {
  const dir = dirWith(null)
  t.equal(nextIncarnation(dir, NOW_MS), 1_754_000_000)
  t.equal(nextIncarnation(dir, NOW_MS), 1_754_000_001, 'a second start within the same second')
  t.equal(fs.readFileSync(path.join(dir, 'incarnation'), 'utf8'), '1754000001\n')
  t.equal(nextIncarnation(dirWith('1754000500\n'), NOW_MS), 1_754_000_501, 'a stored number ahead of the clock')
})

t.test('a damaged file: whole seconds within the safe range, never a fraction or a negative', async (t) => {
  t.equal(nextIncarnation(dirWith('1999999999.5\n'), NOW_MS), 2_000_000_000, 'a fraction is floored')
  for (const stored of ['-5', 'NaN', 'Infinity', '1e300', String(Number.MAX_SAFE_INTEGER), 'garbage', '']) {
    t.equal(nextIncarnation(dirWith(stored), NOW_MS), 1_754_000_000, `stored ${JSON.stringify(stored)}: from the clock`)
  }
})
