// The Python client (clients/python, dsn_client) against real daemons from the bundle: the
// unittest suite runs in a fresh loopback-only namespace (test/lab/one-host.ts), where it starts
// its own `dsn run` daemons, and each Python test is reported here as one tap assertion.
import t from 'tap'
import { existsSync } from 'node:fs'
import * as path from 'node:path'
import { buildBundleCopy, ROOT } from '../bundle/bundle-helpers'
import { runInLoopbackNamespace, stopLoopbackNamespace } from '../lab/one-host'

// Debian's python3 first: what a board has; 3.9+ is all the client needs.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'
const CLIENT = path.join(ROOT, 'clients', 'python')

interface PyResult {
  test: string
  outcome: 'ok' | 'fail' | 'error' | 'skip'
  detail: string
}

t.test('dsn_client unittest suite against real daemons', async (t) => {
  const bundle = buildBundleCopy(t)
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    PYTHONPATH: path.join(CLIENT, 'src'),
    PYTHONDONTWRITEBYTECODE: '1',
    DSN_TEST_NODE: process.execPath,
    DSN_TEST_BUNDLE: bundle,
  }
  const child = runInLoopbackNamespace(PYTHON, [path.join(CLIENT, 'tests', 'tap_runner.py')], { env })
  t.teardown(() => stopLoopbackNamespace(child))
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)))
  const lines = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as PyResult & { planned?: number })
  const planned = lines.find((l) => l.planned !== undefined)?.planned ?? 0
  const results = lines.filter((l) => l.planned === undefined)
  t.ok(planned > 0, `the suite was found (${planned} Python tests); stderr: ${stderr.slice(-2000)}`)
  // setUpModule failing reports one error instead of the tests: the count would then differ.
  t.equal(results.length, planned, 'every Python test reported')
  for (const r of results) t.equal(r.outcome, 'ok', r.test, { detail: r.detail })
  t.equal(code, 0, `python exits 0; stderr: ${stderr.slice(-2000)}`)
})
