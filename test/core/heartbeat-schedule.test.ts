// When a node's own heartbeats are due: the regular one, and the tail heartbeats that follow
// data only where loss was seen, once or (where repairs are being lost) twice.
import t from 'tap'
import { HeartbeatSchedule, heartbeatPhase } from '../../src/core/heartbeat-schedule'
import { TIMERS } from '../../src/core/timers'
import type { RandomSource } from '../../src/core/types'

const INTERVAL = 1000
// Introductions at the middle of their delay; regular heartbeats follow the grid (no randomness).
const middle: RandomSource = { next: () => 0.5, bytes: (n) => new Uint8Array(n) }

/** Sends every heartbeat the schedule asks for between `from` and `to` (1 ms steps); their times. */
function run(s: HeartbeatSchedule, from: number, to: number): number[] {
  const sent: number[] = []
  for (let now = from; now <= to; now++) {
    const due = s.due(now)
    if (!due) continue
    s.noteSent(due.signed, now)
    sent.push(now)
  }
  return sent
}

/** A schedule whose first (signed) heartbeat went out at 0. */
function started(): HeartbeatSchedule {
  const s = new HeartbeatSchedule(INTERVAL, middle, 0)
  t.same(run(s, 0, 0), [0])
  return s
}

t.test('regular heartbeats every interval; the first is signed', async (t) => {
  const s = new HeartbeatSchedule(INTERVAL, middle, 0)
  t.same(s.due(0), { signed: true })
  s.noteSent(true, 0)
  t.same(run(s, 1, 2500), [1000, 2000])
})

t.test('no tail heartbeat after data on a clean stream', async (t) => {
  const s = started()
  s.afterData(100, -Infinity)
  t.same(run(s, 1, 999), [], 'nothing before the regular heartbeat')
})

t.test('one tail heartbeat after data where loss was seen', async (t) => {
  const s = started()
  s.afterData(100, 50)
  t.same(run(s, 1, 999), [100 + TIMERS.tailHeartbeatMs])
})

t.test('where repairs are lost too, a second tail heartbeat follows the first', async (t) => {
  const s = started()
  s.afterData(100, 50, 2)
  const first = 100 + TIMERS.tailHeartbeatMs
  t.same(run(s, 1, 999), [first, first + TIMERS.tailHeartbeatRepeatMs])
})

t.test('new data moves the tail heartbeat later', async (t) => {
  const s = started()
  s.afterData(100, 50)
  s.afterData(110, 50)
  t.same(run(s, 1, 999), [110 + TIMERS.tailHeartbeatMs])
})

t.test('a regular heartbeat due while a tail is pending counts as that tail', async (t) => {
  const s = started()
  s.afterData(990, 50)
  t.same(run(s, 1, 1500), [1000], 'the regular heartbeat at 1000 told the latest seq; no tail at 1015')
})

t.test('new data between two tail heartbeats starts them again', async (t) => {
  const s = started()
  s.afterData(100, 50, 2)
  const first = 100 + TIMERS.tailHeartbeatMs
  t.same(run(s, 1, first), [first])
  s.afterData(first + 10, 50, 2)
  const again = first + 10 + TIMERS.tailHeartbeatMs
  t.same(run(s, first + 1, 999), [again, again + TIMERS.tailHeartbeatRepeatMs])
})

t.test('regular heartbeats go out on the grid: multiples of the interval counted from the offset', async (t) => {
  // Wall clock 250 ms ahead of engine time: the grid's points are at engine 750, 1750...
  const s = new HeartbeatSchedule(INTERVAL, middle, 0, () => 250)
  t.same(run(s, 0, 3000), [0, 750, 1750, 2750], 'the first at once (discovery), the rest on the grid')
})

t.test('a tail heartbeat does not push the regular one off the grid', async (t) => {
  const s = started()
  s.afterData(100, 50)
  t.same(run(s, 1, 2500), [100 + TIMERS.tailHeartbeatMs, 1000, 2000])
})

t.test('a heartbeat just before a grid point stands in for that one: never two within a tenth of an interval', async (t) => {
  const s = started()
  s.afterData(960, 50)
  const tail = 960 + TIMERS.tailHeartbeatMs
  t.same(run(s, 1, 2500), [tail, 2000], `the tail at ${tail} replaces the regular heartbeat at 1000`)
})

t.test('whatever sends them and however the clock steps, heartbeats are 0.1 to 1.1 intervals apart', async (t) => {
  // Seeded: tails after random writes, introductions, and the wall clock stepped now and then.
  let seed = 7
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32)
  let offset = 0
  const s = new HeartbeatSchedule(INTERVAL, { next: rand, bytes: (n) => new Uint8Array(n) }, 0, () => offset)
  const sent = run(s, 0, 0)
  for (let now = 1; now <= 120_000; now++) {
    if (rand() < 0.002) s.afterData(now, now - 1, 1 + Math.floor(rand() * 2))
    if (rand() < 0.0005) s.introduceSoon(now)
    if (rand() < 0.0002) offset = Math.floor(rand() * 10 * INTERVAL)
    const due = s.due(now)
    if (!due) continue
    s.noteSent(due.signed, now)
    sent.push(now)
  }
  const gaps = sent.slice(1).map((at, i) => at - sent[i])
  t.ok(sent.length > 120, `${sent.length} heartbeats in 120 s`)
  t.ok(Math.max(...gaps) <= 1.1 * INTERVAL + 1, `longest gap ${Math.max(...gaps)} ms`)
  t.ok(Math.max(...gaps) < TIMERS.probeAfterIntervals * INTERVAL, 'never long enough for peers to probe us')
})

t.test('heartbeatPhase: up to heartbeatGroupMax nodes share one instant; more split into evenly spaced slots', async (t) => {
  t.equal(heartbeatPhase('n1', 1, INTERVAL), 0)
  t.equal(heartbeatPhase('n1', TIMERS.heartbeatGroupMax, INTERVAL), 0)
  const ids = Array.from({ length: 1000 }, (_, i) => `node-${i}`)
  const slots = 4
  const phases = ids.map((id) => heartbeatPhase(id, slots * TIMERS.heartbeatGroupMax, INTERVAL))
  const counts = new Map<number, number>()
  for (const p of phases) counts.set(p, (counts.get(p) ?? 0) + 1)
  t.same([...counts.keys()].sort((a, b) => a - b), [0, 250, 500, 750], 'four slots a quarter interval apart')
  for (const [phase, n] of counts) t.ok(n > 200 && n < 300, `slot ${phase}: ${n} of 1000 ids`)
  t.equal(heartbeatPhase('node-3', 128, INTERVAL), phases[3], 'the same id, the same slot')
})
