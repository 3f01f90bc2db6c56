// In-process CPU per write with cold caches: before each timed step, a walk over a buffer
// larger than the last-level cache evicts what the step would find warm, as on the lab,
// where ten node processes share two cores and each wake-up follows the others' work.
// Times the same steps warm too, so the ratio says how much of a step's cost is its
// footprint (code and data touched) rather than its instructions.
// Run: npx tsx bench/micro/cold.ts [N=10] [samples=400] [evictMiB=64]
// Reader: DSN's engine.receive + take, against the secure floor's steps (AEAD open, our MAC,
// JSON.parse of the floor's payload, one Map.set), and each stage of ours alone.
// Writer: DSN's set + tick + take, against the secure floor's (JSON.stringify, MACs, seal).
import { performance } from 'node:perf_hooks'
import { open, seal } from '../../src/seal/envelope'
import { hasOurMac, macTrailer } from '../../src/seal/pair-keys'
import { decodeFrame, encodeFrame } from '../../src/wire/frame'
import { dataOnly, formMesh, READER_FROM, secureFloorSteps, valueOf, writeOne } from './sim-mesh'

const N = Number(process.argv[2] ?? 10)
const SAMPLES = Number(process.argv[3] ?? 400)
const EVICT_BYTES = Number(process.argv[4] ?? 64) * 1024 * 1024

const evictBuffer = new Uint32Array(EVICT_BYTES / 4)
let sink = 0
function evict(): void {
  // One write per 64-byte line: every line of the buffer is brought in, so ours are pushed out.
  for (let i = 0; i < evictBuffer.length; i += 16) evictBuffer[i] += i
  sink ^= evictBuffer[evictBuffer.length - 16]
}

/** Median microseconds of `fn(i)` over `samples` calls, each after an eviction when `cold`. */
function measure(samples: number, cold: boolean, fn: (i: number) => void, prepare?: () => void): number {
  const times: number[] = []
  for (let i = 0; i < samples; i++) {
    prepare?.()
    if (cold) evict()
    const t0 = performance.now()
    fn(i)
    times.push((performance.now() - t0) * 1000)
  }
  times.sort((a, b) => a - b)
  return +times[Math.floor(times.length / 2)].toFixed(2)
}

const mesh = formMesh(N)
const { net, writer, reader } = mesh

// Warm every path first (V8 tiers up), as the bench's warm-up does for the processes.
const WARM = 20_000
let written = 0
const datagrams: Uint8Array[] = []
for (let i = 0; i < WARM + 2 * SAMPLES; i++) datagrams.push(...dataOnly(writeOne(mesh, written++)))
let next = 0
const receiveOne = () => {
  reader.engine.receive(datagrams[next++], READER_FROM, 'multicast', net.now)
  reader.engine.take()
}
for (let i = 0; i < WARM; i++) receiveOne()

// The secure floor's steps, on a payload like the floor's, with the same keys and crypto.
const floor = secureFloorSteps(mesh, N)
const { key, cluster, nonce, receivers, macIn } = floor
const floorDatagrams = Array.from({ length: WARM + 2 * SAMPLES }, (_, i) => floor.seal(i))
for (let i = 0; i < WARM; i++) floor.receive(floorDatagrams[i])

// Stage probes on the datagrams the reader will not see again.
const stageData = datagrams.slice(0, SAMPLES)
const opened = stageData.map((d) => {
  const o = open([key], cluster, d)
  if (!o.ok || !o.value.macs) throw new Error('stage datagram refused')
  return o.value
})
const decoder = new TextDecoder()
const frames = opened.map((o) => decodeFrame(o.frame))
for (let i = 0; i < WARM; i++) decodeFrame(opened[i % SAMPLES].frame)

const rows: Array<[string, (i: number) => void, (() => void)?]> = [
  ['reader: DSN engine.receive + take', () => receiveOne()],
  ['reader: secure floor (open, MAC, JSON.parse, Map.set)', (i) => floor.receive(floorDatagrams[WARM + i])],
  ['reader stage: AEAD open', (i) => open([key], cluster, stageData[i])],
  ['reader stage: frame decode', (i) => decodeFrame(opened[i].frame)],
  ['reader stage: our MAC', (i) => hasOurMac(macIn, opened[i].frame, opened[i].macs as Uint8Array)],
  ['reader stage: JSON.parse of the floor payload', (i) => JSON.parse(decoder.decode(floor.payload(i)))],
  ['writer: DSN set + tick + take', () => void writeOne(mesh, written++)],
  ['writer: secure floor (JSON.stringify, MACs, seal)', (i) => void floor.seal(i)],
  ['writer stage: set() alone', () => writer.engine.set('temperature', valueOf(written++))],
  ['writer stage: tick + take after a set()', () => {
    writer.engine.tick(net.now)
    writer.engine.take()
  }, () => writer.engine.set('temperature', valueOf(written++))],
  ['writer stage: frame encode', (i) => encodeFrame(frames[i])],
  ['writer stage: 9 MACs', (i) => macTrailer(receivers, opened[i].frame)],
  ['writer stage: AEAD seal', (i) => seal(key, cluster, nonce, opened[i].frame, null, opened[i].macs)],
  ['writer stage: JSON.stringify of the floor payload', (i) => floor.payload(i)],
]
const result: Record<string, { warm: number; cold: number }> = {}
for (const [name, fn, prepare] of rows) {
  const warm = measure(SAMPLES, false, fn, prepare)
  const cold = measure(SAMPLES, true, fn, prepare)
  result[name] = { warm, cold }
}
console.log(`N = ${N}, ${SAMPLES} samples each, median us; cold = after a ${EVICT_BYTES >> 20} MiB eviction walk (sink ${sink & 1})`)
for (const [name, { warm, cold }] of Object.entries(result)) console.log(`${name.padEnd(56)} warm ${String(warm).padStart(7)}  cold ${String(cold).padStart(7)}  (${(cold / warm).toFixed(1)}x)`)
