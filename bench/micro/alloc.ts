// Heap allocated per datagram, in process: DSN's reader (engine.receive + take) and writer
// (set + tick + take) against the secure floor's steps on the same keys. Allocation is what
// the lab's receivers pay twice for, in the scavenges and in cache lines touched (bench/NOTES.md).
// Then, from V8's sampling heap profiler (collected objects included), which functions allocate
// it, per datagram.
// Run: npx tsx bench/micro/alloc.ts [N=10] [top=12]
import { Session } from 'node:inspector'
import { dataOnly, formMesh, READER_FROM, secureFloorSteps, writeOne } from './sim-mesh'

const N = Number(process.argv[2] ?? 10)
const TOP = Number(process.argv[3] ?? 12)
const WARM = 20_000
const COUNT = 2_000
const PROFILED = 20_000

const mesh = formMesh(N)
const { net, reader } = mesh
let written = 0
const datagrams: Uint8Array[] = []
while (datagrams.length < WARM + COUNT + PROFILED) datagrams.push(...dataOnly(writeOne(mesh, written++)))
let next = 0
const receiveOne = (): void => {
  reader.engine.receive(datagrams[next++], READER_FROM, 'multicast', net.now)
  reader.engine.take()
}
const writeNext = (): void => void writeOne(mesh, written++)

// The secure floor's steps: AEAD open, our MAC, JSON.parse, Map.set.
const floor = secureFloorSteps(mesh, N)
const floorDatagrams = Array.from({ length: WARM + COUNT }, (_, i) => floor.seal(i))

for (let i = 0; i < WARM; i++) {
  receiveOne()
  floor.receive(floorDatagrams[i])
  writeNext()
  floor.seal(i)
}

/** Heap bytes per call, from heapUsed around COUNT calls with no GC between (young space ample). */
function perCall(fn: (i: number) => void): number {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  const before = process.memoryUsage().heapUsed
  for (let i = 0; i < COUNT; i++) fn(i)
  return Math.round((process.memoryUsage().heapUsed - before) / COUNT)
}

const rows: Array<[string, (i: number) => void]> = [
  ['reader: DSN engine.receive + take', () => receiveOne()],
  ['reader: secure floor (open, MAC, JSON.parse, Map.set)', (i) => floor.receive(floorDatagrams[WARM + i])],
  ['writer: DSN set + tick + take', () => writeNext()],
  ['writer: secure floor (JSON.stringify, MACs, seal)', (i) => void floor.seal(i)],
]
console.log(`N = ${N}, heap bytes allocated per call (heapUsed over ${COUNT} calls, median of 5)`)
for (const [name, fn] of rows) {
  const runs = Array.from({ length: 5 }, () => perCall(fn)).sort((a, b) => a - b)
  console.log(`${name.padEnd(56)} ${String(runs[2]).padStart(6)} B`)
}

interface SamplingNode { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: SamplingNode[] }
const session = new Session()
session.connect()
const post = <T>(method: string, params: object = {}): Promise<T> =>
  new Promise((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result as T))))

async function byFunction(label: string, fn: () => void): Promise<void> {
  await post('HeapProfiler.enable')
  await post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
  for (let i = 0; i < PROFILED / 2; i++) fn()
  const { profile } = await post<{ profile: { head: SamplingNode } }>('HeapProfiler.stopSampling')
  const bytes = new Map<string, number>()
  const walk = (node: SamplingNode): void => {
    const f = node.callFrame
    const name = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`
    if (node.selfSize > 0) bytes.set(name, (bytes.get(name) ?? 0) + node.selfSize)
    node.children.forEach(walk)
  }
  walk(profile.head)
  console.log(`\n${label}: sampled, bytes per call by allocating function`)
  for (const [name, b] of [...bytes].sort((x, y) => y[1] - x[1]).slice(0, TOP)) console.log(`${String(Math.round(b / (PROFILED / 2))).padStart(6)}  ${name}`)
}

void (async () => {
  await byFunction('reader', receiveOne)
  await byFunction('writer', writeNext)
  session.disconnect()
})()
