// Which functions run for one write on the writer and for one datagram on a reader, and how
// often: V8's precise coverage call counts over the real Engine on the simulated network. On
// the lab each process runs its path with cold caches, so what a write costs there follows how
// much code and data it touches: this is that list (bench/micro/cold.ts times it).
// Run: npx tsx bench/micro/calls.ts [N=10] [writes=1000]
// Under tsx every export is a getter ("get" rows); the bundle has none.
import { Session } from 'node:inspector'
import { dataOnly, formMesh, READER_FROM, writeOne } from './sim-mesh'

const N = Number(process.argv[2] ?? 10)
const WRITES = Number(process.argv[3] ?? 1000)

interface Coverage {
  result: Array<{ url: string; functions: Array<{ functionName: string; ranges: Array<{ startOffset: number; count: number }> }> }>
}

const session = new Session()
session.connect()
const post = <T>(method: string, params: object = {}): Promise<T> =>
  new Promise((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result as T))))

/** Calls per function since the last call of this (precise coverage resets on each take). */
async function callCounts(): Promise<Map<string, number>> {
  const { result } = await post<Coverage>('Profiler.takePreciseCoverage')
  const counts = new Map<string, number>()
  for (const script of result) {
    const file = script.url.replace(/.*\/node_modules\//, 'nm/').replace(/^file:\/\/.*?\/(src|bench|test)\//, '$1/')
    for (const fn of script.functions) {
      const name = `${fn.functionName || '(anonymous)'} ${file}:${fn.ranges[0].startOffset}`
      counts.set(name, (counts.get(name) ?? 0) + fn.ranges[0].count)
    }
  }
  return counts
}

function print(side: string, counts: Map<string, number>): void {
  const rows = [...counts].filter(([, n]) => n >= WRITES / 2).sort((a, b) => b[1] - a[1])
  const calls = rows.reduce((s, [, n]) => s + n, 0) / WRITES
  console.log(`\n== ${side}: ${rows.length} functions run for (nearly) every write, ${calls.toFixed(0)} calls per write`)
  for (const [name, n] of rows) console.log(`${(n / WRITES).toFixed(1).padStart(7)}  ${name}`)
}

async function main(): Promise<void> {
  await post('Profiler.enable')
  await post('Profiler.startPreciseCoverage', { callCount: true, detailed: false })
  const mesh = formMesh(N)
  const outgoing: Uint8Array[] = []
  await callCounts()
  for (let i = 0; i < WRITES; i++) outgoing.push(...writeOne(mesh, i))
  const written = await callCounts()
  // Only Data datagrams reach the reader; sorting them out here keeps peek's decode out of both lists.
  const data = dataOnly(outgoing)
  await callCounts()
  for (const d of data) {
    mesh.reader.engine.receive(d, READER_FROM, 'multicast', mesh.net.now)
    mesh.reader.engine.take()
  }
  const read = await callCounts()
  print('writer: set + tick + take', written)
  print('reader: receive + take', read)
  session.disconnect()
}

void main()
