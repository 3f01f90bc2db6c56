// Runs a tap test file inside a fresh loopback-only network namespace, as a subtest: the
// assertions are the child's own, the parent only provides the isolated network.
import { resolve } from 'node:path'
import type { Test } from 'tap'
import { childEnv, REPO_ROOT } from '../lab/agents'

const SETUP = 'set -e; ip link set lo up; ip link set lo multicast on; ip route add 224.0.0.0/4 dev lo; exec "$@"'

export function spawnInLoopback(t: Test, file: string, name: string): Promise<unknown> {
  return t.spawn('unshare', ['-n', 'sh', '-c', SETUP, 'sh', process.execPath, '--import', 'tsx', resolve(file)], {
    cwd: REPO_ROOT,
    env: { ...childEnv(), DSN_IN_LOOPBACK_LAB: '1' },
  }, name)
}
