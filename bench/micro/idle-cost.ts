// In-process CPU of one node at rest: what each heartbeat it reads costs, and its own timers,
// warm and with cold caches (a 64 MiB walk before each call, as on the lab where every wake-up
// follows other processes' work). At rest a node reads N - 1 heartbeats a second: this is the
// engine's share of its idle CPU (the "at rest" share of every CPU-per-write figure); the
// process's own wake-ups are the rest (bench/NOTES.md, 12-07 20:01).
// Run: npx tsx bench/micro/idle-cost.ts [N=10] [seconds=300] [evictMiB=64]
import { performance } from 'node:perf_hooks'
import { peek } from '../../test/core/sim-helpers'
import { formMesh } from './sim-mesh'

const N = Number(process.argv[2] ?? 10)
const SECONDS = Number(process.argv[3] ?? 300)
const EVICT_BYTES = Number(process.argv[4] ?? 64) * 1024 * 1024

const evictBuffer = new Uint32Array(EVICT_BYTES / 4)
function evict(): void {
  for (let i = 0; i < evictBuffer.length; i += 16) evictBuffer[i] += i
}

const { net, reader } = formMesh(N)
const engine = reader.engine
const byKind = new Map<string, number[]>()
let cold = false
let measuring = false
const timed = <A extends unknown[], R>(kind: (...a: A) => string, fn: (...a: A) => R) => (...a: A): R => {
  if (!measuring) return fn(...a)
  if (cold) evict()
  const t0 = performance.now()
  const r = fn(...a)
  const us = (performance.now() - t0) * 1000
  const k = kind(...a)
  const list = byKind.get(k) ?? []
  list.push(us)
  byKind.set(k, list)
  return r
}
const receive = engine.receive.bind(engine)
const tick = engine.tick.bind(engine)
const take = engine.take.bind(engine)
const TYPES: Record<number, string> = { 1: 'heartbeat', 2: 'data', 3: 'nack', 4: 'ping', 8: 'peers' }
engine.receive = timed((bytes: Uint8Array, ..._rest: unknown[]) => `receive ${TYPES[peek(bytes)?.type ?? 0] ?? 'other'}`, receive)
engine.tick = timed((_now: number) => 'tick (own timers)', tick)
engine.take = timed(() => 'take', take)

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]
// 120 s idle first, so V8 tiers up the heartbeat path as in a long-lived daemon.
net.runFor(120_000)
for (const c of [false, true]) {
  cold = c
  byKind.clear()
  measuring = true
  const t0 = performance.now()
  net.runFor(SECONDS * 1000)
  measuring = false
  const wall = performance.now() - t0
  const rows = [...byKind].map(([k, v]) => ({ k, n: v.length, perS: v.length / SECONDS, median: median(v), sum: v.reduce((s, x) => s + x, 0) / SECONDS }))
  console.log(`N = ${N}, ${SECONDS} s of simulated rest, ${c ? `cold (${EVICT_BYTES / 1024 / 1024} MiB evicted before each call)` : 'warm'}; the whole simulation took ${wall.toFixed(0)} ms of wall time`)
  for (const r of rows.sort((a, b) => b.sum - a.sum)) console.log(`  ${r.k.padEnd(20)} ${r.perS.toFixed(2).padStart(6)}/s  median ${r.median.toFixed(1).padStart(7)} us  per second ${r.sum.toFixed(0).padStart(6)} us`)
}
