// The responder rules of records.ts, on packets only (no sockets).
import t from 'tap'
import { decode, encode, Packet } from 'dns-packet'
import {
  announcement,
  buildRecords,
  goodbye,
  hostLabel,
  instanceLabel,
  respondTo,
  SERVICE_TYPE,
  SERVICES_ENUMERATION,
} from '../../src/discovery/records'

const own = buildRecords({ nodeId: 'n1', cluster: 'lab', protocolVersion: 1, port: 4100 }, 'board-7', '10.9.8.7', 120)
const INSTANCE = 'n1@lab._dsn._udp.local'

// Everything goes through the codec, as it would on the wire.
const wire = (p: Packet): Packet => decode(encode(p))
const query = (questions: Packet['questions'], extra: Partial<Packet> = {}): Packet => wire({ type: 'query', questions, ...extra })
const names = (rs: Packet['answers']): string[] => (rs ?? []).map((r) => `${r.type} ${r.name}`)

t.test('instance labels', async (t) => {
  t.equal(instanceLabel('n1', 'lab'), 'n1@lab')
  const dotted = instanceLabel('board.kitchen', 'home')
  t.match(dotted, /^board-kitchen@home~[0-9a-f]{8}$/, 'a dot would split the label: replaced, plus a hash')
  t.not(instanceLabel('a.b', 'c'), instanceLabel('a-b', 'c'), 'the hash keeps a.b and a-b apart')
  const long = instanceLabel('n'.repeat(64), 'c'.repeat(64))
  t.ok(Buffer.byteLength(long) <= 63, 'at most 63 bytes')
  t.not(long, instanceLabel('n'.repeat(64), 'c'.repeat(63) + 'd'), 'long names differ by their hash')
  t.equal(hostLabel('My Box.local'), 'My-Box')
  t.equal(hostLabel(''), 'dsn-host')
})

t.test('records of a node', async (t) => {
  t.equal(own.instance, INSTANCE)
  t.equal(own.host, 'board-7.local')
  const ann = wire(announcement(own))
  t.same(names(ann.answers), [`PTR ${SERVICE_TYPE}`, `SRV ${INSTANCE}`, `TXT ${INSTANCE}`, 'A board-7.local'])
  const txt = ann.answers!.find((r) => r.type === 'TXT') as { data: Buffer[] }
  t.same(txt.data.map(String), ['id=n1', 'cluster=lab', 'v=1'])
  const srv = ann.answers!.find((r) => r.type === 'SRV') as { data: { port: number; target: string }; flush: boolean }
  t.same([srv.data.port, srv.data.target, srv.flush], [4100, 'board-7.local', true])
  t.equal((ann.answers!.find((r) => r.type === 'PTR') as { flush: boolean }).flush, false, 'PTR is shared: no cache-flush')
  t.ok(wire(goodbye(own)).answers!.every((r) => (r as { ttl: number }).ttl === 0), 'goodbye: TTL 0')
})

t.test('answers with additionals (RFC 6763 section 12)', async (t) => {
  const ptr = respondTo(own, query([{ name: '_DSN._udp.local', type: 'PTR' }]), false)!
  t.same(names(ptr.answers), [`PTR ${SERVICE_TYPE}`], 'names compare case-insensitively')
  t.same(names(ptr.additionals), [`SRV ${INSTANCE}`, `TXT ${INSTANCE}`, 'A board-7.local'])
  const srv = respondTo(own, query([{ name: INSTANCE, type: 'SRV' }]), false)!
  t.same([names(srv.answers), names(srv.additionals)], [[`SRV ${INSTANCE}`], ['A board-7.local']])
  const txt = respondTo(own, query([{ name: INSTANCE, type: 'TXT' }]), false)!
  t.same([names(txt.answers), names(txt.additionals)], [[`TXT ${INSTANCE}`], []])
  const a = respondTo(own, query([{ name: 'board-7.local', type: 'A' }]), false)!
  t.same(names(a.answers), ['A board-7.local'])
  const any = respondTo(own, query([{ name: INSTANCE, type: 'ANY' as never }]), false)!
  t.same([names(any.answers), names(any.additionals)], [[`SRV ${INSTANCE}`, `TXT ${INSTANCE}`], ['A board-7.local']])
  const both = respondTo(own, query([{ name: SERVICE_TYPE, type: 'PTR' }, { name: INSTANCE, type: 'SRV' }]), false)!
  t.same(names(both.additionals), [`TXT ${INSTANCE}`, 'A board-7.local'], 'no record is both answer and additional')
  const en = respondTo(own, query([{ name: SERVICES_ENUMERATION, type: 'PTR' }]), false)!
  t.same(en.answers, [{ name: SERVICES_ENUMERATION, type: 'PTR', ttl: 120, data: SERVICE_TYPE }], 'service type enumeration')
  t.equal(respondTo(own, query([{ name: '_http._tcp.local', type: 'PTR' }]), false), null, 'not ours: silence')
  t.equal(respondTo(own, query([{ name: 'board-7.local', type: 'AAAA' }]), false), null, 'no IPv6 record')
  t.equal(respondTo(own, query([{ name: INSTANCE, type: 'SRV', class: 'CH' }]), false), null, 'not class IN')
})

t.test('the QU bit (class 0x8001) is still class IN', async (t) => {
  const raw = encode({ type: 'query', questions: [{ name: INSTANCE, type: 'SRV' }] })
  raw.writeUInt16BE(0x8001, raw.length - 2) // the one question's class field is last
  t.ok(respondTo(own, decode(raw), false), 'answered')
})

t.test('known-answer suppression (RFC 6762 section 7.1)', async (t) => {
  const q = (ttl: number) => query([{ name: SERVICE_TYPE, type: 'PTR' }], { answers: [{ ...own.ptr, ttl } as never] })
  t.equal(respondTo(own, q(100), false), null, 'the querier holds our PTR with over half its TTL')
  t.ok(respondTo(own, q(59), false), 'under half the TTL: answer again')
  const other = query([{ name: SERVICE_TYPE, type: 'PTR' }], { answers: [{ ...own.ptr, data: 'x@y._dsn._udp.local' } as never] })
  t.ok(respondTo(own, other, false), 'another instance known: still answer')
})

t.test('legacy unicast replies (RFC 6762 section 6.7)', async (t) => {
  const r = wire(respondTo(own, query([{ name: INSTANCE, type: 'SRV' }], { id: 77 }), true)!)
  t.equal(r.id, 77, 'id echoed')
  t.same(r.questions, [{ name: INSTANCE, type: 'SRV', class: 'IN' }], 'questions echoed')
  for (const rec of [...r.answers!, ...r.additionals!]) {
    t.ok((rec as { ttl: number }).ttl <= 10, `${rec.type} TTL at most 10`)
    t.equal((rec as { flush: boolean }).flush, false, `${rec.type} without cache-flush`)
  }
})
