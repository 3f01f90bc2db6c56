// Two versions of the code in one process, each step timed with cold caches, the versions
// alternating sample by sample: what one changed in CPU per write, with the machine's drift
// (other processes, the host, frequency) falling on both alike. cold.ts times one version;
// its medians drift by tens of microseconds between runs, more than most changes are worth.
// The tree loaded second runs 8-16 us slower even when both are the same commit (an A/A run,
// 12-07), so the tool runs twice, once in each load order, and reports the mean of the two
// differences: the load-order bias cancels.
// Run: npx tsx bench/micro/cold-ab.ts <tree A> <tree B> [N=10] [samples=600] [evictMiB=64]
// A tree is a checkout of this repository (git worktree add /work/X <commit>) with
// bench/micro/sim-mesh.ts; each is loaded with its own src, so the two never share code.
import { spawnSync } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { resolve } from 'node:path'
import type * as SimMeshModule from './sim-mesh'

const [treeA, treeB] = process.argv.slice(2, 4).map((p) => (p ? resolve(p) : ''))
if (!treeA || !treeB) throw new Error('usage: npx tsx bench/micro/cold-ab.ts <tree A> <tree B> [N] [samples] [evictMiB]')
const N = Number(process.argv[4] ?? 10)
const SAMPLES = Number(process.argv[5] ?? 600)
const EVICT_BYTES = Number(process.argv[6] ?? 64) * 1024 * 1024
const WARM = 20_000

const evictBuffer = new Uint32Array(EVICT_BYTES / 4)
function evict(): void {
  // One write per 64-byte line: every line of the buffer is brought in, so ours are pushed out.
  for (let i = 0; i < evictBuffer.length; i += 16) evictBuffer[i] += i
}

interface Side {
  name: string
  read: () => void
  write: () => void
}

function side(tree: string): Side {
  const sim = require(`${tree}/bench/micro/sim-mesh.ts`) as typeof SimMeshModule
  const mesh = sim.formMesh(N)
  let written = 0
  const datagrams: Uint8Array[] = []
  for (let i = 0; i < WARM + 2 * SAMPLES; i++) datagrams.push(...sim.dataOnly(sim.writeOne(mesh, written++)))
  let next = 0
  const read = () => {
    mesh.reader.engine.receive(datagrams[next++], sim.READER_FROM, 'multicast', mesh.net.now)
    mesh.reader.engine.take()
  }
  for (let i = 0; i < WARM; i++) read()
  return { name: tree, read, write: () => void sim.writeOne(mesh, written++) }
}

/** Per sample: a then b or b then a (alternating), each after its own eviction. */
function paired(a: Side, b: Side, step: (s: Side) => () => void): { a: number[]; b: number[] } {
  const times = { a: [] as number[], b: [] as number[] }
  const run = (s: Side, into: number[]) => {
    const fn = step(s)
    evict()
    const t0 = performance.now()
    fn()
    into.push((performance.now() - t0) * 1000)
  }
  for (let i = 0; i < SAMPLES; i++) {
    if (i % 2 === 0) {
      run(a, times.a)
      run(b, times.b)
    } else {
      run(b, times.b)
      run(a, times.a)
    }
  }
  return times
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1]
const STEPS = ['reader: engine.receive + take', 'writer: set + tick + take'] as const
/** One load order's medians, per step: [first tree, second tree, median of second - first per pair]. */
type OrderResult = Record<(typeof STEPS)[number], [number, number, number]>

if (process.env.COLD_AB_CHILD) {
  const first = side(treeA)
  const second = side(treeB)
  const result = {} as OrderResult
  for (const label of STEPS) {
    const t = paired(first, second, label.startsWith('reader') ? (s) => s.read : (s) => s.write)
    result[label] = [median(t.a), median(t.b), median(t.b.map((x, i) => x - t.a[i]))]
  }
  console.log(JSON.stringify(result))
} else {
  const run = (x: string, y: string): OrderResult => {
    const child = spawnSync(process.execPath, [...process.execArgv, __filename, x, y, String(N), String(SAMPLES), String(EVICT_BYTES >> 20)], { env: { ...process.env, COLD_AB_CHILD: '1' }, encoding: 'utf8' })
    if (child.status !== 0) throw new Error(`cold-ab child failed: ${child.stderr}`)
    return JSON.parse(child.stdout.trim().split('\n').pop() as string) as OrderResult
  }
  const ab = run(treeA, treeB)
  const ba = run(treeB, treeA)
  const fmt = (x: number): string => x.toFixed(1).padStart(6)
  console.log(`N = ${N}, ${SAMPLES} pairs per step and load order, cold (after a ${EVICT_BYTES >> 20} MiB eviction walk), median us`)
  console.log(`A = ${treeA}\nB = ${treeB}`)
  for (const label of STEPS) {
    const [a1, b1, d1] = ab[label]
    const [b2, a2, d2] = ba[label]
    // d1 = B - A + bias, d2 = A - B + bias: their half-difference is B - A without the bias.
    const effect = (d1 - d2) / 2
    console.log(`${label.padEnd(30)} A loaded first: A ${fmt(a1)} B ${fmt(b1)} | B first: B ${fmt(b2)} A ${fmt(a2)} | B - A ${fmt(effect)} (load-order bias ${fmt((d1 + d2) / 2)})`)
  }
}
