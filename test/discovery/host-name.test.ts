// The host-name claim (src/discovery/host-name.ts) on a fake clock: probes, tie-break, rename,
// defence. Packets go through dns-packet's codec, as on the wire.
import t from 'tap'
import { decode, encode, type Packet } from 'dns-packet'
import { compareAuthorities, HostNameClaim, ownHostName, PROBE_COUNT, PROBE_INTERVAL_MS, TIE_BREAK_DEFER_MS } from '../../src/discovery/host-name'

const wire = (p: Packet): Packet => decode(encode(p))

/** Runs the claim's timer like the shell: tick at each deadline; returns probes with their times. */
function runClaim(claim: HostNameClaim, from: number, until: number): Array<{ at: number; packet: Packet }> {
  const out: Array<{ at: number; packet: Packet }> = []
  let now = from
  for (;;) {
    const next = claim.nextDeadline()
    if (next > until) return out
    now = Math.max(now, next)
    for (const packet of claim.tick(now)) out.push({ at: now, packet: wire(packet) })
  }
}

t.test('names: ours, from the node id, never the machine host name', async (t) => {
  t.match(ownHostName('sensor_kitchen', 'home'), /^dsn-sensor-kitchen-[0-9a-f]{8}\.local$/)
  t.not(ownHostName('n1', 'a'), ownHostName('n1', 'b'), 'the cluster is in the hash')
  t.not(ownHostName('n1', 'a', 1), ownHostName('n1', 'a'), 'a rename gives another name')
  t.ok(Buffer.byteLength(ownHostName('x'.repeat(64), 'c').split('.')[0]) <= 63, 'one DNS label')
  t.match(ownHostName('...', 'c'), /^dsn-[0-9a-f]{8}\.local$/)
})

t.test('three probes 250 ms apart, the first within 250 ms, then claimed', async (t) => {
  const claim = new HostNameClaim('n1', 'lab', '10.0.0.1', () => 0.5, 1000)
  const probes = runClaim(claim, 1000, 10_000)
  t.equal(probes.length, PROBE_COUNT)
  t.same(probes.map((p) => p.at), [1125, 1375, 1625])
  const p = probes[0].packet
  t.equal(p.type, 'query')
  t.same(p.questions?.map((q) => [q.name, q.type]), [[claim.name, 'ANY']], 'asks ANY for the name')
  t.same(p.authorities?.map((r) => [r.name, r.type, (r as { data: string }).data]), [[claim.name, 'A', '10.0.0.1']], 'with the proposed A record')
  t.equal(claim.state, 'claimed', 'claimed 250 ms after the third probe')
  t.ok(claim.takeClaimed(), 'announce once')
  t.notOk(claim.takeClaimed())
})

t.test('our own probe looped back is no conflict', async (t) => {
  const claim = new HostNameClaim('n1', 'lab', '10.0.0.1', () => 0, 0)
  const [first] = runClaim(claim, 0, 0)
  claim.onQuery(first.packet, 1)
  runClaim(claim, 1, 5000)
  t.equal(claim.state, 'claimed')
  t.equal(claim.conflicts, 0)
})

t.test('simultaneous probes: the lower data defers 1 s, the higher carries on (section 8.2)', async (t) => {
  const low = new HostNameClaim('twin', 'lab', '10.0.0.1', () => 0, 0)
  const high = new HostNameClaim('twin', 'lab', '10.0.0.2', () => 0, 0)
  t.equal(low.name, high.name, 'same node id and cluster on two machines: same first name')
  const lowProbe = runClaim(low, 0, 0)[0].packet
  const highProbe = runClaim(high, 0, 0)[0].packet
  t.ok(compareAuthorities(lowProbe.authorities ?? [], highProbe.authorities ?? []) < 0)
  high.onQuery(lowProbe, 10)
  low.onQuery(highProbe, 10)
  t.equal(high.conflicts, 0, 'the winner sees no conflict')
  t.equal(low.conflicts, 1, 'the loser counts one')
  t.equal(low.nextDeadline(), 10 + TIE_BREAK_DEFER_MS, 'and probes again one second later')
  runClaim(high, 10, 2000)
  t.equal(high.state, 'claimed')
  // The winner now answers the loser's next probe (records.ts): the loser renames.
  const answer = wire({ type: 'response', answers: [high.record(120)] })
  low.onResponse(answer, 1100)
  t.equal(low.renames, 1, 'renamed on the answer')
  t.not(low.name, high.name)
  runClaim(low, 1100, 5000)
  t.equal(low.state, 'claimed', 'the new name is claimed')
})

t.test('a conflicting announcement after the claim: probe again, rename only if the owner answers (section 9)', async (t) => {
  const claim = new HostNameClaim('n1', 'lab', '10.0.0.1', () => 0, 0)
  runClaim(claim, 0, 2000)
  const name = claim.name
  claim.takeClaimed()
  const stale = wire({ type: 'response', answers: [{ name, type: 'A', ttl: 120, flush: true, data: '10.0.0.9' }] })
  claim.onResponse(stale, 3000)
  t.equal(claim.state, 'probing', 'back to probing')
  t.equal(claim.name, name, 'same name first')
  runClaim(claim, 3000, 6000)
  t.equal(claim.state, 'claimed', 'nobody answered: the name stays ours')
  t.ok(claim.takeClaimed(), 're-announced, which answers the conflicting announcement')
  t.equal(claim.renames, 0)
  claim.onResponse(stale, 7000)
  runClaim(claim, 7000, 7000 + PROBE_INTERVAL_MS)
  claim.onResponse(stale, 7000 + PROBE_INTERVAL_MS)
  t.equal(claim.renames, 1, 'an owner that answers our probe makes us rename')
  t.not(claim.name, name)
})

t.test('goodbyes and our own records are not conflicts; other types of our name are', async (t) => {
  const claim = new HostNameClaim('n1', 'lab', '10.0.0.1', () => 0, 0)
  claim.onResponse(wire({ type: 'response', answers: [claim.record(120)] }), 1)
  claim.onResponse(wire({ type: 'response', answers: [{ name: claim.name, type: 'A', ttl: 0, data: '10.0.0.9' }] }), 1)
  t.equal(claim.conflicts, 0)
  claim.onResponse(wire({ type: 'response', answers: [{ name: claim.name.toUpperCase(), type: 'AAAA', ttl: 120, data: 'fe80::1' }] }), 1)
  t.equal(claim.conflicts, 1, 'names compare case-insensitively; an AAAA of our name is someone else\'s')
})

t.test('15 conflicts in 10 s slow renames to one per 5 s', async (t) => {
  const claim = new HostNameClaim('n1', 'lab', '10.0.0.1', () => 0, 0)
  let now = 0
  for (let i = 0; i < 15; i++) {
    claim.onResponse(wire({ type: 'response', answers: [{ name: claim.name, type: 'A', ttl: 120, data: '10.0.0.9' }] }), now)
    now += 10
  }
  t.equal(claim.renames, 15)
  t.equal(claim.nextDeadline(), now - 10 + 5000)
})
