// The per-peer path policy on a fake clock: unicast added at once when a peer hears too little
// of our multicast, multicast alone again only after a steady good report and the hold time,
// which doubles while a peer flaps.
import t from 'tap'
import { Counters } from '../../src/core/counters'
import { PATH, PathChoice } from '../../src/core/path-choice'

const HB = 1000
const listed = (ratio: number) => ({ kind: 'listed', ratio }) as const

function setup(heardByMulticast = true) {
  const counters = new Counters()
  const paths = new PathChoice(HB, counters)
  paths.track('b', 1, heardByMulticast, 0)
  return { paths, counters }
}

/** Heartbeats of b every second from `from` to `to`, each carrying `ratio` (null: left out). */
function beats(paths: PathChoice, from: number, to: number, ratio: number | null): void {
  for (let now = from; now <= to; now += HB) {
    paths.report('b', 1, ratio === null ? { kind: 'absent' } : listed(ratio), now)
    paths.needsUnicast('b', now)
  }
}

t.test('a new peer: the guess from what we hear, until its first report decides, with no hold', async (t) => {
  const heard = setup(true)
  t.notOk(heard.paths.needsUnicast('b', 0), 'heard by multicast: multicast alone')
  const unheard = setup(false)
  t.ok(unheard.paths.needsUnicast('b', 0), 'not heard by multicast: unicast too')
  unheard.paths.report('b', 1, listed(1), 500)
  t.notOk(unheard.paths.needsUnicast('b', 500), 'its first report says it hears us: multicast alone at once')
  t.equal(unheard.counters.get('path-changes.multicast-only'), 1)
})

t.test('left out of complete reports (it does not hear us): unicast, after the grace for a new peer', async (t) => {
  const { paths, counters } = setup(true)
  paths.report('b', 1, { kind: 'absent' }, 1000)
  t.notOk(paths.needsUnicast('b', 1000), 'within the grace: it may not have heard our introduction yet')
  paths.report('b', 1, { kind: 'absent' }, PATH.reportGraceIntervals * HB)
  t.ok(paths.needsUnicast('b', PATH.reportGraceIntervals * HB), 'still absent after the grace: unicast')
  t.equal(counters.get('path-changes.unicast-added'), 1)
  t.equal(paths.view('b', true, 2000)?.path, 'unicast', 'shown as unicast: our multicast does not reach it')
})

t.test('no report for 2.5 intervals (its heartbeats stopped reaching us): unicast too', async (t) => {
  const { paths } = setup(true)
  beats(paths, 0, 3000, 1)
  t.notOk(paths.needsUnicast('b', 3000 + PATH.reportStaleIntervals * HB))
  t.ok(paths.needsUnicast('b', 3001 + PATH.reportStaleIntervals * HB))
})

t.test('past 64 peers, reports list one window at a time: the first-listing and staleness bounds stretch', async (t) => {
  const counters = new Counters()
  const paths = new PathChoice(HB, counters)
  const peers = 200 // 4 report windows of 64
  for (let i = 0; i < peers; i++) paths.track(`p${i}`, 1, true, 0)
  t.notOk(paths.needsUnicast('p0', 4 * PATH.firstReportIntervals * HB - 1), 'not listed yet, within 4 x 2.5 intervals: still the guess')
  t.ok(paths.needsUnicast('p1', 4 * PATH.firstReportIntervals * HB), 'never listed after them: unicast too')
  paths.report('p0', 1, listed(1), 1000)
  t.notOk(paths.needsUnicast('p0', 1000 + PATH.reportStaleIntervals * HB), 'listed 10 intervals ago: not stale')
  t.ok(paths.needsUnicast('p0', 1001 + PATH.reportStaleIntervals * HB), 'at 4 windows (reports every other heartbeat) the bound stays 10 intervals')
  const many = new PathChoice(HB, new Counters())
  for (let i = 0; i < 1280; i++) many.track(`p${i}`, 1, true, 0) // 20 windows: a listing takes 20 heartbeats
  many.report('p0', 1, listed(1), 60_000)
  t.notOk(many.needsUnicast('p0', 60_000 + 40 * HB), '20 windows: stale only after 2 intervals per window')
  t.ok(many.needsUnicast('p0', 60_001 + 40 * HB))
})

t.test('lossy multicast: unicast added below the threshold, dropped only after a steady hold', async (t) => {
  const { paths, counters } = setup(true)
  beats(paths, 0, 2000, 0.95)
  t.notOk(paths.needsUnicast('b', 2000), '95%: above the threshold, multicast alone')
  beats(paths, 3000, 3000, 0.7)
  t.ok(paths.needsUnicast('b', 3000), '70%: unicast too, at once')
  t.equal(paths.view('b', true, 3000)?.path, 'both')
  beats(paths, 4000, 10_000, 0.93)
  t.ok(paths.needsUnicast('b', 10_000), '93%: between the thresholds, the path stays (hysteresis)')
  beats(paths, 11_000, 11_000 + PATH.holdMs - 1000, 1)
  t.ok(paths.needsUnicast('b', 11_000 + PATH.holdMs - 1000), 'good, but not yet for the hold time')
  beats(paths, 11_000 + PATH.holdMs, 11_000 + PATH.holdMs, 1)
  t.notOk(paths.needsUnicast('b', 11_000 + PATH.holdMs), 'good for the hold time: multicast alone again')
  t.equal(paths.view('b', true, 11_000 + PATH.holdMs)?.changedAt, 11_000 + PATH.holdMs, 'when it changed')
  t.same([counters.get('path-changes.unicast-added'), counters.get('path-changes.multicast-only')], [1, 1])
})

t.test('a flapping peer: the hold doubles each time, so changes get rarer, up to the maximum', async (t) => {
  const { paths, counters } = setup(true)
  let now = 0
  const holds: number[] = []
  for (let round = 0; round < 8; round++) {
    beats(paths, now, now, 0.5)
    t.ok(paths.needsUnicast('b', now), `round ${round}: unicast added`)
    const hold = paths.view('b', true, now)?.holdMs as number
    holds.push(hold)
    beats(paths, now + HB, now + 2 * hold, 1)
    now += 2 * hold
    t.notOk(paths.needsUnicast('b', now), `round ${round}: multicast alone after ${hold} ms held`)
    now += HB
  }
  t.same(holds.slice(0, 5), [PATH.holdMs, 2 * PATH.holdMs, 4 * PATH.holdMs, 8 * PATH.holdMs, 16 * PATH.holdMs])
  t.equal(Math.max(...holds), PATH.holdMaxMs, 'bounded')
  t.equal(counters.get('path-changes.unicast-added'), 8)
  // Calm for long: the hold starts over.
  beats(paths, now, now + 4 * PATH.holdMaxMs, 1)
  now += 4 * PATH.holdMaxMs + HB
  beats(paths, now, now, 0.5)
  t.equal(paths.view('b', true, now)?.holdMs, PATH.holdMs, 'after a long calm, the hold is back to its base')
})

t.test('a new incarnation starts over; peers no longer live are forgotten', async (t) => {
  const { paths } = setup(true)
  beats(paths, 0, 0, 0.2)
  t.ok(paths.needsUnicast('b', 0))
  paths.track('b', 2, true, 1000)
  t.notOk(paths.needsUnicast('b', 1000), 'the restarted peer starts from the guess')
  paths.retain(() => false)
  t.equal(paths.size, 0)
})

t.test('a report of lost multicast is remembered (the engine keeps tail heartbeats on after it)', async (t) => {
  const { paths } = setup(true)
  beats(paths, 0, 2000, 1)
  t.equal(paths.lossReportedAt, -Infinity, 'all heard: no loss seen')
  beats(paths, 3000, 3000, 0.95)
  t.equal(paths.lossReportedAt, 3000, 'some lost, even above the unicast threshold')
})
