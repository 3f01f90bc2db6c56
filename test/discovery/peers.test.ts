// Parsing other nodes' responses and the peer table (no sockets).
import t from 'tap'
import { decode, encode, Packet } from 'dns-packet'
import { parseResponse, parseTxt, PeerTable } from '../../src/discovery/peers'
import { announcement, buildRecords, goodbye } from '../../src/discovery/records'

const wire = (p: Packet): Packet => decode(encode(p))
const node = (nodeId: string, cluster = 'lab', port = 4100, address = '10.0.0.2', protocolVersion = 1) =>
  buildRecords({ nodeId, cluster, protocolVersion, port }, `host-${nodeId}`, address)
const self = { nodeId: 'me', cluster: 'lab', instance: 'me@lab._dsn._udp.local' }

t.test('parseTxt', async (t) => {
  const m = parseTxt([Buffer.from('ID=a'), Buffer.from('id=b'), Buffer.from('flag'), Buffer.from('=x'), 'v=1=2'])
  t.same([...m], [['id', 'a'], ['v', '1=2']], 'keys lower-cased, first wins, no-key entries skipped')
})

t.test('an announcement becomes a peer', async (t) => {
  const { observations, malformed } = parseResponse(wire(announcement(node('n2'))), '10.0.0.99')
  t.equal(malformed, 0)
  t.same(observations, [
    { instance: 'n2@lab._dsn._udp.local', gone: false, nodeId: 'n2', cluster: 'lab', protocolVersion: 1, port: 4100, host: '10.0.0.2' },
  ], 'host from the A record of the SRV target')
})

t.test('host falls back to the source address', async (t) => {
  const p = announcement(node('n2'))
  p.answers = p.answers!.filter((r) => r.type !== 'A')
  t.equal(parseResponse(wire(p), '10.0.0.99').observations[0].host, '10.0.0.99')
})

t.test('additionals count, and several instances in one packet', async (t) => {
  const a = announcement(node('n2'))
  const b = announcement(node('n3', 'other', 4200, '10.0.0.3'))
  const p = wire({ type: 'response', answers: [a.answers![0], b.answers![0]], additionals: [...a.answers!.slice(1), ...b.answers!.slice(1)] })
  const obs = parseResponse(p, '10.0.0.2').observations
  t.same(obs.map((o) => [o.nodeId, o.cluster, o.port, o.host]), [['n2', 'lab', 4100, '10.0.0.2'], ['n3', 'other', 4200, '10.0.0.3']])
})

t.test('junk records are counted and skipped', async (t) => {
  const bad = (mutate: (p: Packet) => void): number => {
    const p = announcement(node('n2'))
    mutate(p)
    const r = parseResponse(wire(p), '10.0.0.2')
    return r.observations.length === 0 ? r.malformed : -1
  }
  const txt = (data: string[]) => (p: Packet) => {
    p.answers = p.answers!.map((r) => (r.type === 'TXT' ? ({ ...r, data } as never) : r))
  }
  t.equal(bad(txt(['id=n2', 'cluster=lab', 'v=one'])), 1, 'version not a number')
  t.equal(bad(txt(['id=n 2', 'cluster=lab', 'v=1'])), 1, 'id outside the alphabet')
  t.equal(bad(txt(['cluster=lab', 'v=1'])), 1, 'no id')
  t.equal(bad(txt(['id=n2', 'cluster=' + 'c'.repeat(65), 'v=1'])), 1, 'cluster too long')
  t.equal(
    bad((p) => (p.answers = p.answers!.map((r) => (r.type === 'SRV' ? ({ ...r, data: { port: 0, target: 'x.local' } } as never) : r)))),
    1,
    'port 0',
  )
  const stray = parseResponse(wire({ type: 'response', answers: [{ name: '_dsn._udp.local', type: 'PTR', data: 'elsewhere.local' }] }), '1.2.3.4')
  t.same(stray, { observations: [], malformed: 1 }, 'a PTR to a name outside the service')
  const other = parseResponse(wire({ type: 'response', answers: [{ name: '_http._tcp.local', type: 'PTR', data: 'x._http._tcp.local' }] }), '1.2.3.4')
  t.same(other, { observations: [], malformed: 0 }, 'other services are not ours to judge')
})

t.test('peer table: new, repeated, changed, gone, self', async (t) => {
  const table = new PeerTable(self, 10)
  const see = (p: Packet, from = '10.0.0.2') => table.observe(parseResponse(wire(p), from).observations, from)
  const n2 = node('n2')
  t.same(see(announcement(n2)), [{ type: 'peer', peer: { nodeId: 'n2', cluster: 'lab', protocolVersion: 1, host: '10.0.0.2', port: 4100 } }])
  t.same(see(announcement(n2)), [], 'a repeated announcement is not news')
  t.same(see(announcement(node('n2', 'lab', 4101))).map((e) => e.type), ['peer'], 'a new port is')
  t.same(see(announcement(buildRecords({ nodeId: 'me', cluster: 'lab', protocolVersion: 1, port: 4000 }, 'host-me', '10.0.0.1'))), [], 'our own records are skipped')
  t.same(see(announcement(node('me', 'elsewhere'))).length, 1, 'our node id in another cluster is another node')
  t.same(see(goodbye(n2)), [{ type: 'peer-gone', nodeId: 'n2', cluster: 'lab' }])
  t.same(see(goodbye(n2)), [], 'a second goodbye is not news')
  t.same(see(goodbye(node('never'))), [], 'a goodbye from a stranger is not news')
  t.equal(table.size, 1)
})

t.test('a PTR-only goodbye (as some responders send) for a known peer', async (t) => {
  const table = new PeerTable(self, 10)
  const n2 = node('n2')
  table.observe(parseResponse(wire(announcement(n2)), '10.0.0.2').observations, '10.0.0.2')
  const bye = wire({ type: 'response', answers: [{ ...n2.ptr, ttl: 0 } as never] })
  t.same(table.observe(parseResponse(bye, '10.0.0.2').observations, '10.0.0.2'), [{ type: 'peer-gone', nodeId: 'n2', cluster: 'lab' }])
})

t.test('the table is bounded', async (t) => {
  const table = new PeerTable(self, 2)
  for (const id of ['a', 'b', 'c', 'd']) table.observe(parseResponse(wire(announcement(node(id))), '10.0.0.2').observations, '10.0.0.2')
  t.equal(table.size, 2)
  t.equal(table.dropped, 2)
})
