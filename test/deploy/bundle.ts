// The dsn.cjs the deploy tests put on the boards: a fresh build of this tree, written into the
// test's own directory so dist/ (which a developer may be using) is left alone.
import { join } from 'path'
import { runOk } from '../lab/run'
import { REPO_ROOT } from './boards'

export interface TestBundle {
  path: string
  /** One line for the test output saying which bundle this is. */
  note: string
}

export async function testBundle(dir: string): Promise<TestBundle> {
  const path = join(dir, 'dsn.cjs')
  await runOk(process.execPath, [join(REPO_ROOT, 'scripts', 'build.mjs'), '--bundle-only', '--outfile', path, '--quiet'], {
    cwd: REPO_ROOT,
    timeoutMs: 120_000,
  })
  return { path, note: `the real bundle, built from this tree by scripts/build.mjs into ${path}` }
}
