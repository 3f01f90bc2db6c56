// The shell's health sampler: a blocked event loop shows up as lag in the next sample.
import t from 'tap'
import { HealthMonitor, kernelReadDue, type HealthSample } from '../../src/node/health-monitor'

t.test('a 300 ms block of the event loop is reported as loop lag', async (t) => {
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
  const next = () => new Promise<void>((resolve) => { wake = resolve })
  await next()
  // Block from a turn of its own, as real work would (not inside the sampler's turn).
  await new Promise<void>((resolve) => setTimeout(() => {
    const begin = Date.now()
    while (Date.now() - begin < 300) {
      // busy: nothing else runs
    }
    resolve()
  }, 50))
  // The window holding the block may be this sample or the next.
  await next()
  await next()
  const worst = Math.max(...samples.slice(1).map((s) => s.loopLagMs))
  t.ok(worst >= 200, `worst loop lag ${Math.round(worst)} ms`)
  t.ok(samples.every((s) => s.kernelDrops === 0 && s.receiveBacklogMs === 0), 'no sockets of ours: nothing from the kernel')
})

t.test('the kernel is read every 8th sample while all is well, every sample in trouble', async (t) => {
  const quiet = Array.from({ length: 16 }, (_, i) => i + 1).filter((i) => kernelReadDue(i, 0, false))
  t.same(quiet, [8, 16], 'every 2 s when quiet')
  t.ok(kernelReadDue(3, 25, false), 'loop lag of 25 ms reads at once')
  t.notOk(kernelReadDue(3, 10, false), 'lag below 20 ms does not')
  t.ok(kernelReadDue(3, 0, true), 'bytes queued or drops at the last read: read again')
})
