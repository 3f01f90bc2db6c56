// The avahi lab helper: two real avahi-daemons on two lab hosts see each other's records,
// settle a host-name conflict the way avahi does, and leave no process behind.
import t from 'tap'
import { avahiProblem, parseBrowseLine, startAvahi } from './avahi'
import { createLab } from './netns'
import { liveGroupMembers } from './one-host'

t.test('parseBrowseLine decodes avahi-browse -p lines', async (t) => {
  t.same(parseBrowseLine('=;eth0;IPv4;na\\064alpha;_dsn._udp;local;box.local;10.47.0.2;4001;"v=1" "id=na"'), {
    event: '=', iface: 'eth0', protocol: 'IPv4', name: 'na@alpha', type: '_dsn._udp', domain: 'local',
    host: 'box.local', address: '10.47.0.2', port: 4001, txt: ['v=1', 'id=na'],
  })
  t.same(parseBrowseLine('+;eth0;IPv4;a\\046b;_x._tcp;local'), { event: '+', iface: 'eth0', protocol: 'IPv4', name: 'a.b', type: '_x._tcp', domain: 'local' })
  t.equal(parseBrowseLine('Failed to create client object'), null)
})

t.test('two avahi-daemons in a lab', async (t) => {
  const problem = avahiProblem()
  // A missing avahi is a failure that says what to install, never a skip.
  if (problem) return t.fail(`avahi interop: ${problem}`)
  const lab = await createLab({ hosts: 2, prefix: `dsnav${process.pid.toString(36)}` })
  t.teardown(() => lab.destroy())
  const a = await startAvahi(lab, 0, { hostName: 'box-a' })
  t.teardown(() => a.stop())
  const b = await startAvahi(lab, 1, { hostName: 'box-a' })
  t.teardown(() => b.stop())

  t.equal(await a.currentHostName(), 'box-a', 'the first daemon holds its name')
  t.not(await b.currentHostName(), 'box-a', 'the second one renamed itself on the conflict')
  t.ok(b.log.has(/^Host name conflict, retrying with/), 'and logged the conflict')
  t.equal(await b.resolveHostName('box-a.local'), lab.hosts[0].address, 'b resolves a by name over the lab wire')

  const pub = await a.publishService('svc one', '_dsnlab._udp', 4321, ['k=v', 'x=1'])
  const seen = await b.browse('_dsnlab._udp')
  const resolved = seen.find((e) => e.event === '=' && e.name === 'svc one')
  t.ok(resolved, `b lists a's service (saw ${JSON.stringify(seen)})`)
  t.same(resolved && [resolved.host, resolved.address, resolved.port, resolved.txt?.sort()], ['box-a.local', lab.hosts[0].address, 4321, ['k=v', 'x=1']])
  await pub.stop()

  const extra = await b.publishAddress('alias.local', lab.hosts[1].address)
  t.equal(await a.resolveHostName('alias.local'), lab.hosts[1].address, 'an extra A record published with avahi-publish -a')
  await extra.stop()

  const groups = [a.processGroup, b.processGroup]
  await a.stop()
  await b.stop()
  t.same(groups.map((g) => liveGroupMembers(g ?? -1)), [[], []], 'stop() leaves no dbus or avahi process')
  await t.rejects(a.currentHostName(), /not running/, 'a stopped daemon refuses new clients')
})
