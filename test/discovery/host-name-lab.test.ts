// Issue 14 on a lab bridge: boards cloned from one image (one machine host name) run dsn, one
// of them beside an avahi-daemon holding that very host name. Each node must resolve to its own
// address under a host name of its own, and avahi must see no conflict. Every mDNS socket lives
// in lab hosts (test/lab/netns.ts); avahi via test/lab/avahi.ts.
import { ChildProcessWithoutNullStreams } from 'child_process'
import * as os from 'os'
import { resolve } from 'path'
import t from 'tap'
import { childEnv, REPO_ROOT, tsxArgs } from '../lab/agents'
import { avahiProblem, startAvahi } from '../lab/avahi'
import { LineLog } from '../lab/lines'
import { createLab } from '../lab/netns'
import { exitedWithin } from '../lab/run'

const FIXTURE = resolve(__dirname, 'fixtures', 'mdns-lab.ts')
const LAB_ENV = { ...childEnv(), DSN_MDNS_LAB: '1' }
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Line = Record<string, any>

/** One fixture process (fixtures/mdns-lab.ts) in a lab host, driven by JSON lines. */
async function driver(child: ChildProcessWithoutNullStreams) {
  const out = new LineLog(child.stdout, 'mdns-lab')
  const err = new LineLog(child.stderr, 'mdns-lab stderr')
  const parse = (l: string): Line | null => {
    try {
      return JSON.parse(l) as Line
    } catch {
      return null
    }
  }
  const event = async (match: (e: Line) => boolean, timeoutMs: number): Promise<Line> => {
    try {
      return parse(await out.waitFor((l) => { const e = parse(l); return !!e && match(e) }, timeoutMs))!
    } catch (e) {
      throw new Error(`${(e as Error).message}\nstderr:\n${err.lines.join('\n')}`)
    }
  }
  let nextId = 0
  const call = async (op: string, args: Line = {}, timeoutMs = 10_000): Promise<Line> => {
    const id = ++nextId
    child.stdin.write(JSON.stringify({ id, op, ...args }) + '\n')
    const reply = await event((e) => e.id === id, timeoutMs)
    if (!reply.ok) throw new Error(`${op} failed: ${reply.error}`)
    return reply
  }
  await event((e) => e.event === 'ready', 30_000)
  return { call, close: async () => { child.kill('SIGKILL'); await exitedWithin(child, 5000) } }
}

t.test('identical images and avahi with the same host name: each node resolves to its own address, avahi sees no conflict', async (t) => {
  const problem = avahiProblem()
  if (problem) throw new Error(`this test needs avahi: ${problem}`)
  // The host name every board of the image shares, which dsn used to announce as its own.
  const machine = os.hostname().replace(/[^A-Za-z0-9-]/g, '-').slice(0, 63) || 'raspberrypi'
  const lab = await createLab({ hosts: 3, prefix: `dsnhn${process.pid.toString(36)}` })
  t.teardown(() => lab.destroy())
  const avahi = await startAvahi(lab, 0, { hostName: machine })
  t.teardown(() => avahi.stop())

  const ids = ['board', 'board_b', 'board_c']
  const nodes = []
  for (let h = 0; h < 3; h++) {
    const d = await driver(lab.spawn(h, process.execPath, tsxArgs(FIXTURE), { cwd: REPO_ROOT, env: LAB_ENV }))
    t.teardown(d.close)
    await d.call('start', { name: 'n', advert: { nodeId: ids[h], cluster: 'farm', protocolVersion: 1, port: 4100 + h }, options: { interfaceAddress: lab.hosts[h].address } })
    nodes.push(d)
  }
  const names = await Promise.all(nodes.map(async (d) => (await d.call('claimed', { name: 'n' })).hostName as string))
  t.equal(new Set(names).size, 3, `three distinct host names (${names.join(', ')})`)
  for (const name of names) t.not(name.toLowerCase(), `${machine.toLowerCase()}.local`, 'never the machine host name')

  const seen = await avahi.browse('_dsn._udp')
  for (let h = 0; h < 3; h++) {
    const resolved = seen.find((e) => e.event === '=' && e.name === `${ids[h]}@farm`)
    t.ok(resolved, `avahi-browse resolved ${ids[h]} (saw ${JSON.stringify(seen)})`)
    t.same(resolved && [resolved.host, resolved.address, resolved.port], [names[h], lab.hosts[h].address, 4100 + h], `${ids[h]} resolves to its own host name and address`)
    t.equal(await avahi.resolveHostName(names[h]), lab.hosts[h].address, `avahi-resolve ${names[h]}`)
  }
  t.equal(await avahi.currentHostName(), machine, 'avahi still holds the machine host name')
  t.notOk(avahi.log.has(/conflict/i), `avahi logged no conflict (log: ${avahi.log.lines.join(' | ')})`)
  for (let h = 0; h < 3; h++) {
    const { stats } = await nodes[h].call('stats', { name: 'n' })
    t.equal(stats.hostNameConflicts, 0, `${ids[h]} saw no host-name conflict`)
  }
})

t.test('one node id on two boards: the two claims settle on two names, both resolvable', async (t) => {
  const problem = avahiProblem()
  if (problem) throw new Error(`this test needs avahi: ${problem}`)
  const lab = await createLab({ hosts: 3, prefix: `dsnht${process.pid.toString(36)}` })
  t.teardown(() => lab.destroy())
  const avahi = await startAvahi(lab, 0, { hostName: 'observer' })
  t.teardown(() => avahi.stop())
  const drivers = []
  for (const h of [1, 2]) {
    const d = await driver(lab.spawn(h, process.execPath, tsxArgs(FIXTURE), { cwd: REPO_ROOT, env: LAB_ENV }))
    t.teardown(d.close)
    drivers.push(d)
  }
  // Started together: simultaneous probes of one name, settled by the tie-break (RFC 6762 8.2).
  await Promise.all(drivers.map((d, i) =>
    d.call('start', { name: 'n', advert: { nodeId: 'twin', cluster: 'farm', protocolVersion: 1, port: 4200 }, options: { interfaceAddress: lab.hosts[i + 1].address } })))
  const names = await Promise.all(drivers.map(async (d) => (await d.call('claimed', { name: 'n' }, 20_000)).hostName as string))
  t.not(names[0], names[1], `two names (${names.join(', ')})`)
  t.equal(await avahi.resolveHostName(names[0]), lab.hosts[1].address)
  t.equal(await avahi.resolveHostName(names[1]), lab.hosts[2].address)
})
