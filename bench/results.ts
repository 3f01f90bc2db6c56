// The shape of a bench run's results (also written as JSON beside BENCHMARKS.md's figures).
import type { LoadSample, Machine } from './lib/machine'
import type { Footprint } from './scenarios/footprint'
import type { LatencyRun } from './scenarios/latency'
import type { LossRun } from './scenarios/loss'
import type { JoinRun, KillRun } from './scenarios/membership'
import type { ThroughputRun } from './scenarios/throughput'
import type { IdleRate, WireRun } from './scenarios/wire'
import type { WifiRun } from './scenarios/wifi'

export interface Repeated<R, M = R> {
  runs: R[]
  median: M
}

export interface SystemResult {
  label: string
  latencyIdle?: Repeated<LatencyRun>
  latencyLoaded?: Repeated<LatencyRun>
  throughput1?: Repeated<ThroughputRun, number> & { cpu: { writerCpuUs: number; receiverCpuUs: number; brokerCpuUs: number } }
  throughput10?: Repeated<ThroughputRun, number> & { writers: number }
  wire?: Repeated<WireRun>
  idle?: IdleRate
  loss10?: LossRun
  loss30?: LossRun
  join?: Repeated<JoinRun>
  kill?: Repeated<KillRun, { downAtAllMs: number; firstDownMs: number }>
  footprint?: Footprint
  wifi?: WifiRun
  /** Section -> machine load while it ran. */
  load: Record<string, LoadSample>
  errors: Record<string, string>
}

export interface LabResult {
  n: number
  /** A reduced set (quick mode's N = 20 extra lab). */
  partial: boolean
  systems: Record<string, SystemResult>
}

export interface BenchResult {
  startedAt: string
  finishedAt: string
  durationS: number
  command: string
  quick: boolean
  machine: Machine
  loadStart: number[]
  loadEnd: number[]
  labs: LabResult[]
  params: Record<string, unknown>
}
