// The local health rule (Lifeguard's local health multiplier) on its own, with a fake clock.
import t from 'tap'
import { LocalHealth } from '../../src/core/local-health'
import { HEALTH } from '../../src/core/timers'

t.test('a healthy node keeps exactly one peer timeout', async (t) => {
  const h = new LocalHealth()
  h.noteLag('loop', HEALTH.healthyLagMs, 0)
  h.noteTick(1000, 1000 + HEALTH.lateTimerMs)
  t.equal(h.multiplier(0), 1)
  t.equal(h.multiplier(10_000), 1)
  t.same(h.samples, { loop: 0, timer: 0, receive: 0 }, 'lag within the healthy bound is not evidence')
})

t.test('lag stretches the timeout by one per lag unit, bounded, and decays', async (t) => {
  const h = new LocalHealth()
  h.noteLag('loop', HEALTH.healthyLagMs + 3 * HEALTH.lagUnitMs, 1000)
  t.equal(h.multiplier(1000), Math.min(4, 1 + HEALTH.maxExtraTimeouts))
  // One half-life later the lag has halved.
  const half = (HEALTH.healthyLagMs + 3 * HEALTH.lagUnitMs) / 2
  t.equal(h.lag(1000 + HEALTH.lagHalfLifeMs), half)
  t.equal(h.multiplier(1000 + HEALTH.lagHalfLifeMs), 1 + Math.floor((half - HEALTH.healthyLagMs) / HEALTH.lagUnitMs))
  // The multiplier never grows without new evidence, so a deadline computed earlier never passes unnoticed.
  let last = Infinity
  for (let now = 1000; now < 30_000; now += 37) {
    const m = h.multiplier(now)
    t.ok(m <= last, `non-increasing at ${now}`) || t.end()
    last = m
  }
  t.equal(last, 1, 'back to healthy within 30 s')
  h.noteLag('receive', 60_000, 40_000)
  t.equal(h.multiplier(40_000), 1 + HEALTH.maxExtraTimeouts, 'bounded by maxExtraTimeouts')
  t.equal(h.samples.receive, 1)
})

t.test('a smaller lag does not lower what is remembered; a late timer counts its lateness', async (t) => {
  const h = new LocalHealth()
  h.noteLag('loop', 900, 0)
  h.noteLag('loop', 200, 10)
  t.ok(h.lag(10) > 800)
  const g = new LocalHealth()
  g.noteTick(5000, 5700)
  t.equal(g.lag(5700), 700)
  t.equal(g.samples.timer, 1)
  t.ok(g.isDegraded(5700))
})
