// Proves runInLoopbackNamespace: a namespace holding only lo, with multicast
// between several processes on 127.0.0.1, and nothing left once stopped.
import t from 'tap'
import { AGENT_GROUP, childEnv, REPO_ROOT, tsxArgs, UDP_AGENT } from './agents'
import { LineLog } from './lines'
import { liveGroupMembers, runInLoopbackNamespace, stopLoopbackNamespace } from './one-host'
import { exited } from './run'

// Two agents in one namespace: A in the background, B exec'd so it owns our stdin.
const TWO_AGENTS = [
  `"$0" ${tsxArgs('"$1"', '--iface', '127.0.0.1', '--group', AGENT_GROUP, '--tag', 'A').join(' ')} </dev/null &`,
  `exec "$0" ${tsxArgs('"$1"', '--iface', '127.0.0.1', '--group', AGENT_GROUP, '--tag', 'B').join(' ')}`,
].join('\n')

t.test('the namespace holds only lo, with the multicast route', async (t) => {
  const child = runInLoopbackNamespace('sh', ['-c', 'ip -br link; ip route show table all type multicast; ip route show'])
  const out = new LineLog(child.stdout, 'ip')
  const err = new LineLog(child.stderr, 'ip stderr')
  await exited(child)
  await stopLoopbackNamespace(child)
  t.equal(child.exitCode, 0, err.lines.join('\n'))
  const links = out.lines.filter((l) => /^\S+\s+(UNKNOWN|UP|DOWN)/.test(l)).map((l) => l.split(/\s+/)[0])
  t.same(links, ['lo'], 'no interface but lo')
  t.ok(out.has(/^224\.0\.0\.0\/4 dev lo/), 'multicast is routed over lo')
})

t.test('processes in one loopback namespace hear each other', async (t) => {
  const child = runInLoopbackNamespace('sh', ['-c', TWO_AGENTS, process.execPath, UDP_AGENT], {
    cwd: REPO_ROOT,
    env: childEnv(),
  })
  const out = new LineLog(child.stdout, 'agents')
  const err = new LineLog(child.stderr, 'agents stderr')
  t.teardown(() => stopLoopbackNamespace(child))
  // Each agent runs assertInLabNamespace() first, so ready also proves the guard passes here.
  await Promise.all([out.waitFor('A ready 127.0.0.1', 15_000), out.waitFor('B ready 127.0.0.1', 15_000)]).catch((e: Error) => {
    throw new Error(`${e.message}\nstderr:\n${err.lines.join('\n')}`)
  })
  child.stdin.write(`send ${AGENT_GROUP} hello\n`)
  await out.waitFor('B sent hello')
  await out.waitFor('A recv 127.0.0.1 hello')
  t.pass('A heard B over multicast on lo')

  const pgid = child.pid as number
  await stopLoopbackNamespace(child)
  t.same(liveGroupMembers(pgid), [], 'stop ends the background agent too')
})
