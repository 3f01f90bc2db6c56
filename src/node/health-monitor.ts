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
  /** Sockets bound to the group port on this host, ours included, when the kernel was read
   * this sample and a group port was given (the shell's multicast loopback follows it). */
  groupSockets?: number
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
 * A receive queue below this is not a backlog: rx_queue counts the kernel's memory per datagram
 * (~1-2 KiB each, not the payload), and one or two datagrams waiting for the next turn of an idle
 * loop, over an idle node's receive rate of ~2 B/ms, read as a lag of a second. That false lag
 * stretched peer timeouts and delayed kill -9 detection at idle (bench, 2026-12-02 16:56).
 */
export const RECEIVE_BACKLOG_MIN_BYTES = 64 * 1024

/**
 * How long a receive queue of `queuedBytes` takes to drain at `bytesPerMs`, the rate we read at
 * over the last window; 0 below RECEIVE_BACKLOG_MIN_BYTES. Nothing drained (rate 0) with a
 * backlog waiting means the whole window was a stall; at most 10 s (a nearly stalled window
 * makes the rate tiny and the quotient absurd).
 */
export function receiveBacklogMs(queuedBytes: number, bytesPerMs: number, windowMs: number): number {
  if (queuedBytes < RECEIVE_BACKLOG_MIN_BYTES) return 0
  return bytesPerMs > 0 ? Math.min(10_000, queuedBytes / bytesPerMs) : windowMs
}

/**
 * Whether sample number `index` reads the kernel's counters: every KERNEL_EVERY-th, and every
 * one while the loop lags or the last read found bytes queued or datagrams dropped.
 */
export function kernelReadDue(index: number, loopLagMs: number, lastFoundTrouble: boolean): boolean {
  return lastFoundTrouble || loopLagMs >= KERNEL_LAG_MS || index % KERNEL_EVERY === 0
}

/** The sampler's own lateness is the loop lag while the loop is calm (no cost: it fires anyway).
 * From this lateness or this event-loop utilisation on, the fine delay monitor runs too... */
const FINE_FROM_LAG_MS = 20
const FINE_FROM_UTILISATION = 0.5
/** ...until this many calm windows in a row (2 s). At 20 ms resolution the monitor's timer costs
 * ~6 ms of CPU a second on this host, more than everything else an idle node does. */
const FINE_CALM_WINDOWS = 8

/** Whether the fine monitor should run after a window; `calm` counts calm windows in a row. */
export function fineMonitorWanted(active: boolean, lagMs: number, utilisation: number, calm: number): boolean {
  if (lagMs >= FINE_FROM_LAG_MS || utilisation >= FINE_FROM_UTILISATION) return true
  return active && calm < FINE_CALM_WINDOWS
}

/**
 * Measures, in the shell, what the sans-IO core cannot see: how late the event loop runs and
 * what the kernel dropped or holds for our sockets (/proc/net/udp). Feeds one number per
 * source to the engine every SAMPLE_MS. Loop lag is the sampler's own lateness while the loop
 * is calm, and node:perf_hooks monitorEventLoopDelay (finer: it sees blocks between samples)
 * while it is busy or late.
 */
export class HealthMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  private readonly kernel: KernelUdpCounter
  private timer: NodeJS.Timeout | null = null
  private lastDrops: number | null = null
  private samples = 0
  private kernelTrouble = false
  private fine = false
  private calmWindows = 0
  private running = false

  /** `groupPort`: also count the sockets bound to it in each kernel read (HealthSample.groupSockets). */
  constructor(ports: number[], private readonly bytesReceived: () => number, private readonly onSample: (s: HealthSample) => void, groupPort: number | null = null) {
    this.kernel = new KernelUdpCounter(new Set(ports), undefined, groupPort)
  }

  /** True while the fine delay monitor runs. */
  get fineActive(): boolean {
    return this.fine
  }

  start(): void {
    this.running = true
    this.kernel.refresh()
    let lastBytes = this.bytesReceived()
    let lastAt = performance.now()
    let lastElu = performance.eventLoopUtilization()
    const sample = (): void => {
      const now = performance.now()
      const lateMs = Math.max(0, now - lastAt - SAMPLE_MS)
      const elu = performance.eventLoopUtilization()
      const utilisation = performance.eventLoopUtilization(elu, lastElu).utilization
      lastElu = elu
      const bytes = this.bytesReceived()
      // Bytes per ms handled over the window: how fast we drain what the kernel queued.
      const rate = (bytes - lastBytes) / Math.max(1, now - lastAt)
      lastBytes = bytes
      lastAt = now
      const loopLagMs = Math.max(lateMs, this.fine ? this.histogram.max / 1e6 - RESOLUTION_MS : 0)
      this.steerFine(loopLagMs, utilisation)
      const kernel = kernelReadDue(++this.samples, loopLagMs, this.kernelTrouble) ? this.kernel.read() : null
      let kernelDrops = 0
      let receiveBacklog = 0
      if (kernel) {
        kernelDrops = this.lastDrops === null ? kernel.drops : Math.max(0, kernel.drops - this.lastDrops)
        this.lastDrops = kernel.drops
        receiveBacklog = receiveBacklogMs(kernel.rxQueueBytes, rate, SAMPLE_MS)
        this.kernelTrouble = kernelDrops > 0 || receiveBacklog > 0
      }
      this.onSample({ loopLagMs, kernelDrops, receiveBacklogMs: receiveBacklog, groupSockets: kernel?.sharedPortSockets })
      this.arm(sample)
    }
    this.arm(sample)
  }

  stop(): void {
    this.running = false
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.histogram.disable()
    this.fine = false
  }

  /** One timer per window, re-armed from when it ran: its lateness is the coarse lag. */
  private arm(sample: () => void): void {
    // A sample that stopped the node (through onSample) must not start the next window.
    if (!this.running) return
    this.timer = setTimeout(sample, SAMPLE_MS)
    this.timer.unref()
  }

  private steerFine(lagMs: number, utilisation: number): void {
    const calm = lagMs < FINE_FROM_LAG_MS && utilisation < FINE_FROM_UTILISATION
    this.calmWindows = calm ? this.calmWindows + 1 : 0
    const wanted = fineMonitorWanted(this.fine, lagMs, utilisation, this.calmWindows)
    if (this.fine) this.histogram.reset()
    if (wanted === this.fine) return
    this.fine = wanted
    if (wanted) this.histogram.enable()
    else this.histogram.disable()
  }
}
