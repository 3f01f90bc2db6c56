// Multicast reception measured per origin, and the receiver report's codec: on a fake clock.
import t from 'tap'
import { MulticastReception, ReceptionTable, RECEPTION } from '../../src/core/receiver-report'
import { encodeReport, readReport, reportTag, REPORT_MAX_ENTRIES, validReport } from '../../src/wire/receiver-report'

const HB = 1000

/** An origin sending `perBeat` group datagrams per heartbeat, each heard by multicast when `heard(i)`. */
function stream(r: MulticastReception, beats: number, perBeat: number, heard: (i: number) => boolean, start = { packet: 0, sent: 0, now: 0 }) {
  for (let b = 0; b < beats; b++) {
    for (let i = 0; i < perBeat; i++) {
      start.packet++
      start.sent++
      if (heard(start.sent)) r.noteMulticast(7, start.packet)
    }
    start.now += HB
    r.noteHeartbeat(7, start.packet, start.sent, start.now)
  }
  return start
}

t.test('everything heard: ratio 1; nothing heard: ratio 0, even from the first heartbeat', async (t) => {
  const all = new MulticastReception()
  const at = stream(all, 3, 4, () => true)
  t.equal(all.ratio(at.now, HB), 1)
  const none = new MulticastReception()
  none.noteHeartbeat(7, 1, 1, 0) // its first heartbeat came by unicast
  t.equal(none.ratio(0, HB), 0, 'one heartbeat by unicast already says "not heard"')
  const one = new MulticastReception()
  one.noteMulticast(7, 1)
  one.noteHeartbeat(7, 1, 1, 0)
  t.equal(one.ratio(0, HB), 1, 'one heartbeat by multicast says "heard"')
})

t.test('a quarter lost: about 0.75 over the window; recovery shows once the window slides past', async (t) => {
  const r = new MulticastReception()
  const at = stream(r, RECEPTION.windowSamples, 8, (i) => i % 4 !== 0)
  const ratio = r.ratio(at.now, HB) as number
  t.ok(Math.abs(ratio - 0.75) < 0.03, `${ratio.toFixed(3)} for a quarter lost`)
  stream(r, RECEPTION.windowSamples, 8, () => true, at)
  t.equal(r.ratio(at.now, HB), 1, 'the lossy samples left the window')
})

t.test('duplicates and unicast copies do not count; a new incarnation starts over', async (t) => {
  const r = new MulticastReception()
  r.noteMulticast(7, 1)
  r.noteMulticast(7, 1)
  r.noteMulticast(7, 3)
  r.noteMulticast(7, 2) // late, not a duplicate
  r.noteMulticast(7, 2)
  r.noteHeartbeat(7, 4, 4, 0) // 4 sent, the heartbeat itself came by unicast
  r.noteMulticast(7, 5)
  r.noteMulticast(7, 5) // a duplicate in the window
  r.noteHeartbeat(7, 6, 8, HB) // 8 sent: 4 more, 1 heard (5), the heartbeat (6) not
  // The window starts just before the first heartbeat (we may have joined mid-incarnation):
  // of packets 4..8, only 5 came by multicast.
  t.equal(r.ratio(HB, HB), 1 / 5, '5 counted once; 1, 2 and 3 came before the window')
  r.noteMulticast(6, 99)
  r.noteHeartbeat(6, 100, 100, 2 * HB)
  t.equal(r.ratio(2 * HB, HB), 1 / 5, 'an older incarnation is ignored')
  r.noteHeartbeat(8, 1, 1, 2 * HB)
  t.equal(r.ratio(2 * HB, HB), 0, 'a new incarnation: only its own datagrams count')
})

t.test('stale: no heartbeat for 1.5 intervals, no ratio (reported as 0)', async (t) => {
  const r = new MulticastReception()
  const at = stream(r, 3, 2, () => true)
  t.equal(r.ratio(at.now + 1.5 * HB, HB), 1)
  t.equal(r.ratio(at.now + 1.5 * HB + 1, HB), null)
  const table = new ReceptionTable(HB)
  stream(table.of('b'), 3, 2, () => true)
  t.same(readReport(table.report(['b'], at.now + 2 * HB, true), 'b'), { kind: 'listed', ratio: 0 }, 'a stale origin is reported as not heard')
})

t.test('report codec: listed, absent from a complete report, unknown from a partial one', async (t) => {
  const report = encodeReport([{ nodeId: 'a', ratio: 1 }, { nodeId: 'b', ratio: 0.5 }, { nodeId: 'c', ratio: null }])
  t.ok(validReport(report))
  t.equal(report.length, 1 + 3 * 3, 'three bytes a peer')
  t.same(readReport(report, 'a'), { kind: 'listed', ratio: 1 })
  t.equal((readReport(report, 'b') as { ratio: number }).ratio, 128 / 255)
  t.same(readReport(report, 'c'), { kind: 'listed', ratio: 0 })
  t.same(readReport(report, 'zz'), { kind: 'absent' })
  const many = Array.from({ length: REPORT_MAX_ENTRIES + 6 }, (_, i) => ({ nodeId: `n${i}`, ratio: 1 }))
  const partial = encodeReport(many)
  t.equal(partial.length, 1 + 3 * REPORT_MAX_ENTRIES, 'bounded')
  t.same(readReport(partial, `n${REPORT_MAX_ENTRIES + 3}`), { kind: 'unknown' }, 'left out of a partial report: nothing known')
  const rotated = encodeReport(many, REPORT_MAX_ENTRIES)
  t.same(readReport(rotated, `n${REPORT_MAX_ENTRIES + 3}`), { kind: 'listed', ratio: 1 }, 'the next report covers the rest')
  t.ok(validReport(new Uint8Array(0)), 'empty: a heartbeat without a report')
  t.same(readReport(new Uint8Array(0), 'a'), { kind: 'unknown' })
  for (const bad of [Uint8Array.of(2), Uint8Array.of(1, 0), new Uint8Array(2 + 3 * REPORT_MAX_ENTRIES)]) t.notOk(validReport(bad), `invalid: ${bad.length} bytes`)
})

t.test('a tag collision counts the lower ratio: it can add unicast copies, never remove them', async (t) => {
  // Find another id with a's tag.
  const tag = reportTag('a')
  let twin = ''
  for (let i = 0; !twin; i++) if (reportTag(`x${i}`) === tag) twin = `x${i}`
  t.same(readReport(encodeReport([{ nodeId: 'a', ratio: 1 }, { nodeId: twin, ratio: 0 }]), 'a'), { kind: 'listed', ratio: 0 })
})

t.test('reports are sent on change, when forced, and every 8th heartbeat; empty otherwise', async (t) => {
  const table = new ReceptionTable(HB)
  const at = stream(table.of('b'), 3, 2, () => true)
  const sent = (force = false) => table.report(['b'], at.now, force).length > 0
  t.ok(sent(), 'the first report')
  const quiet = Array.from({ length: RECEPTION.refreshHeartbeats - 1 }, () => sent())
  t.same(quiet, Array(RECEPTION.refreshHeartbeats - 1).fill(false), 'nothing new: no report')
  t.ok(sent(), `the ${RECEPTION.refreshHeartbeats}th heartbeat refreshes it`)
  t.ok(sent(true), 'forced (signed heartbeats, PING answers)')
  t.notOk(sent())
  stream(table.of('b'), 2, 4, (i) => i % 2 === 0, at) // b's multicast halves: a path threshold crossed
  t.ok(sent(), 'a ratio crossed a threshold: reported at once')
  t.notOk(sent())
  t.ok(table.report(['b', 'c'], at.now, false).length > 0, 'a new peer: reported at once')
})

t.test('past 64 live peers every peer is still listed at least every 8th heartbeat', async (t) => {
  // Each report lists one window of REPORT_MAX_ENTRIES peers, so reports come more often; the
  // origin's staleness bound (10 intervals, core/path-choice.ts) must never see a gap. At 99 peers
  // they went out every 8th heartbeat and a peer could go 16 unlisted: paths flapped to unicast.
  for (const peers of [65, 99, 200, 256, 512, 700]) {
    const live = Array.from({ length: peers }, (_, i) => `p${i}`)
    const table = new ReceptionTable(HB)
    for (const id of live) stream(table.of(id), 3, 1, () => true)
    const lastListed = new Map<string, number>()
    let worstGap = 0
    for (let beat = 0; beat < 64; beat++) {
      const report = table.report(live, 3 * HB, false)
      if (report.length === 0) continue
      for (const id of live) {
        if (readReport(report, id).kind !== 'listed') continue
        worstGap = Math.max(worstGap, beat - (lastListed.get(id) ?? 0))
        lastListed.set(id, beat)
      }
    }
    t.equal(lastListed.size, peers, `${peers} peers: every one listed`)
    const windows = Math.ceil(peers / REPORT_MAX_ENTRIES)
    t.ok(worstGap <= Math.max(RECEPTION.refreshHeartbeats, windows), `${peers} peers: listed at least every ${Math.max(RECEPTION.refreshHeartbeats, windows)} heartbeats (worst gap ${worstGap})`)
  }
})
