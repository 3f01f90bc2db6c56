// When a node's own heartbeats are due: the regular one, and the tail heartbeats that follow
// data only where loss was seen, once or (where repairs are being lost) twice.
import t from 'tap'
import { HeartbeatSchedule } from '../../src/core/heartbeat-schedule'
import { TIMERS } from '../../src/core/timers'
import type { RandomSource } from '../../src/core/types'

const INTERVAL = 1000
// 0.5: no jitter on the interval (1 + 0.1 x (2 x 0.5 - 1) = 1).
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
