// The shell's health sampler: a blocked event loop shows up as lag in the next sample.
import t, { type Test } from 'tap'
import { fineMonitorWanted, HealthMonitor, kernelReadDue, type HealthSample } from '../../src/node/health-monitor'

function sampled(t: Test): { monitor: HealthMonitor; samples: HealthSample[]; next: () => Promise<void> } {
  const samples: HealthSample[] = []
  let wake: (() => void) | null = null
  const monitor = new HealthMonitor([], () => 0, (s) => {
    samples.push(s)
    wake?.()
  })
  monitor.start()
  // The sampler's timer is unref'd (it must not keep a node's process alive): hold the loop here.
  const hold = setInterval(() => undefined, 1000)
  t.teardown(() => {
    clearInterval(hold)
    monitor.stop()
  })
  return { monitor, samples, next: () => new Promise<void>((resolve) => { wake = resolve }) }
}

function busy(ms: number): void {
  const begin = Date.now()
  while (Date.now() - begin < ms) {
    // busy: nothing else runs
  }
}

t.test('a 300 ms block of the event loop is reported as loop lag, and engages the fine monitor', async (t) => {
  const { monitor, samples, next } = sampled(t)
  await next()
  t.notOk(monitor.fineActive, 'a calm loop runs no delay monitor')
  // Block from a turn of its own, as real work would (not inside the sampler's turn).
  await new Promise<void>((resolve) => setTimeout(() => {
    busy(300)
    resolve()
  }, 50))
  // The window holding the block may be this sample or the next. A 300 ms block covers at
  // least 50 ms past the sampler's 250 ms due time, whatever its phase.
  await next()
  await next()
  const worst = Math.max(...samples.slice(1).map((s) => s.loopLagMs))
  t.ok(worst >= 50, `worst loop lag ${Math.round(worst)} ms`)
  t.ok(monitor.fineActive, 'the fine delay monitor runs after the block')
  t.ok(samples.every((s) => s.kernelDrops === 0 && s.receiveBacklogMs === 0), 'no sockets of ours: nothing from the kernel')
})

t.test('while the loop stays busy, blocks between samples are measured to their length', async (t) => {
  const { monitor, samples, next } = sampled(t)
  await next()
  // 150 ms blocks with short gaps for 2 s: the sampler alone would see only its own lateness.
  const until = Date.now() + 2000
  await new Promise<void>((resolve) => {
    const step = (): void => {
      busy(150)
      if (Date.now() < until) setTimeout(step, 5)
      else resolve()
    }
    setTimeout(step, 5)
  })
  await next()
  t.ok(monitor.fineActive, 'busy loop: the fine monitor runs')
  const worst = Math.max(...samples.slice(2).map((s) => s.loopLagMs))
  t.ok(worst >= 100, `worst loop lag ${Math.round(worst)} ms under 150 ms blocks`)
})

t.test('the fine monitor runs from 20 ms of lag or 50% utilisation until 8 calm windows', async (t) => {
  t.notOk(fineMonitorWanted(false, 5, 0.1, 3), 'calm: off')
  t.ok(fineMonitorWanted(false, 25, 0.1, 0), 'lag: on')
  t.ok(fineMonitorWanted(false, 0, 0.6, 0), 'busy: on')
  t.ok(fineMonitorWanted(true, 0, 0.1, 7), 'on until 8 calm windows')
  t.notOk(fineMonitorWanted(true, 0, 0.1, 8), 'then off')
})

t.test('the kernel is read every 8th sample while all is well, every sample in trouble', async (t) => {
  const quiet = Array.from({ length: 16 }, (_, i) => i + 1).filter((i) => kernelReadDue(i, 0, false))
  t.same(quiet, [8, 16], 'every 2 s when quiet')
  t.ok(kernelReadDue(3, 25, false), 'loop lag of 25 ms reads at once')
  t.notOk(kernelReadDue(3, 10, false), 'lag below 20 ms does not')
  t.ok(kernelReadDue(3, 0, true), 'bytes queued or drops at the last read: read again')
})
