// The local health rule (Lifeguard-style local health awareness) on its own, with a fake clock.
import t from 'tap'
import { LocalHealth } from '../../src/core/local-health'
import { HEALTH } from '../../src/core/timers'

const T = 2000

t.test('a healthy node keeps exactly the plain peer timeout', async (t) => {
  const h = new LocalHealth()
  h.noteLag('loop', HEALTH.healthyLagMs, 0)
  h.noteTick(1000, 1000 + HEALTH.lateTimerMs)
  t.equal(h.timeout(T, 0), T)
  t.equal(h.timeout(T, 10_000), T)
  t.notOk(h.isDegraded(0))
  t.same(h.samples, { loop: 0, timer: 0, receive: 0 }, 'lag within the healthy bound is not evidence')
})

t.test('lag stretches the timeout by lagFactor x the excess lag, bounded, and the stretch decays', async (t) => {
  const h = new LocalHealth()
  const lag = HEALTH.healthyLagMs + 300
  h.noteLag('loop', lag, 1000)
  t.equal(h.timeout(T, 1000), T + HEALTH.lagFactor * 300)
  t.ok(h.isDegraded(1000))
  // One half-life later the lag has halved.
  t.equal(h.lag(1000 + HEALTH.lagHalfLifeMs), lag / 2)
  // The stretch never grows without new evidence, so a deadline computed earlier is never early.
  let last = Infinity
  for (let now = 1000; now < 30_000; now += 37) {
    const timeout = h.timeout(T, now)
    if (timeout > last) t.fail(`grew at ${now}`)
    last = timeout
  }
  t.equal(last, T, 'back to the plain timeout within 30 s')
  h.noteLag('receive', 60_000, 40_000)
  t.equal(h.timeout(T, 40_000), T * (1 + HEALTH.maxExtraTimeouts), 'bounded by maxExtraTimeouts')
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
