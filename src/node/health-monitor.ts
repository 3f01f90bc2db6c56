import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks'
import { KernelUdpCounter } from '../net/udp-drops'

/** One sample of what the process itself suffered, for the engine's local health. */
export interface HealthSample {
  /** Worst event-loop delay in the window beyond the monitor's own resolution, ms. */
  loopLagMs: number
  /** Datagrams the kernel dropped for full receive buffers since the last sample. */
  kernelDrops: number
  /** How long the bytes waiting in our receive queues take to drain at the recent receive rate, ms. */
  receiveBacklogMs: number
}

/** Sampling period: several samples per heartbeat interval, cheap (one /proc read). */
const SAMPLE_MS = 250
/** The delay monitor's timer period; its samples include this, so it is subtracted. Lag
 * matters from 50 ms (local-health.ts), so 20 ms is fine enough and half the wake-ups of 10. */
const RESOLUTION_MS = 20
/** /proc/net/udp is read every this many samples (2 s) while all is well: the kernel walks
 * every UDP socket of the host to write it, and a bench profile showed it at 4% of a receiver. */
const KERNEL_EVERY = 8
/** Loop lag at or above this makes the next samples read the kernel's queue every time. */
const KERNEL_LAG_MS = 20

/**
 * Whether sample number `index` reads the kernel's counters: every KERNEL_EVERY-th, and every
 * one while the loop lags or the last read found bytes queued or datagrams dropped.
 */
export function kernelReadDue(index: number, loopLagMs: number, lastFoundTrouble: boolean): boolean {
  return lastFoundTrouble || loopLagMs >= KERNEL_LAG_MS || index % KERNEL_EVERY === 0
}

/**
 * Measures, in the shell, what the sans-IO core cannot see: how late the event loop runs
 * (node:perf_hooks monitorEventLoopDelay) and what the kernel dropped or holds for our
 * sockets (/proc/net/udp). Feeds one number per source to the engine every SAMPLE_MS.
 */
export class HealthMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  private readonly kernel: KernelUdpCounter
  private timer: NodeJS.Timeout | null = null
  private lastDrops: number | null = null
  private samples = 0
  private kernelTrouble = false

  constructor(ports: number[], private readonly bytesReceived: () => number, private readonly onSample: (s: HealthSample) => void) {
    this.kernel = new KernelUdpCounter(new Set(ports))
  }

  start(): void {
    this.kernel.refresh()
    this.histogram.enable()
    let lastBytes = this.bytesReceived()
    let lastAt = performance.now()
    this.timer = setInterval(() => {
      const now = performance.now()
      const bytes = this.bytesReceived()
      // Bytes per ms handled over the window: how fast we drain what the kernel queued.
      const rate = (bytes - lastBytes) / Math.max(1, now - lastAt)
      lastBytes = bytes
      lastAt = now
      const loopLagMs = Math.max(0, this.histogram.max / 1e6 - RESOLUTION_MS)
      this.histogram.reset()
      const kernel = kernelReadDue(++this.samples, loopLagMs, this.kernelTrouble) ? this.kernel.read() : null
      let kernelDrops = 0
      let receiveBacklogMs = 0
      if (kernel) {
        kernelDrops = this.lastDrops === null ? kernel.drops : Math.max(0, kernel.drops - this.lastDrops)
        this.lastDrops = kernel.drops
        // A queue we drain at `rate` takes this long; with nothing drained (rate 0) but bytes
        // waiting, the whole window was a stall.
        // Capped at 10 s: a nearly stalled window makes the rate tiny and the quotient absurd.
        if (kernel.rxQueueBytes > 0) receiveBacklogMs = rate > 0 ? Math.min(10_000, kernel.rxQueueBytes / rate) : SAMPLE_MS
        this.kernelTrouble = kernelDrops > 0 || kernel.rxQueueBytes > 0
      }
      this.onSample({ loopLagMs, kernelDrops, receiveBacklogMs })
    }, SAMPLE_MS)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    this.histogram.disable()
  }
}
