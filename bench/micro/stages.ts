// In-process CPU per stage of one 16 B write, over the real Engine and Sealer classes on the
// simulated network (no sockets, no process wake-ups): what our code costs per datagram.
// Run: npx tsx bench/micro/stages.ts [N=10] [writes=3000]
// Writer: encode (frame CBOR), auth (sign or MACs), seal (AEAD), engine (set+tick+take in all).
// Receiver: open (AEAD), decode (frame CBOR), auth (verify or MAC), engine.receive in all
// (apply, events and timers are the rest). Stage figures time the primitive alone on the same
// bytes, so the engine total minus their sum is the protocol logic itself.
import { performance } from 'node:perf_hooks'
import { stageProbes } from './probes'
import { dataOnly, formMesh, READER_FROM, valueOf, writeOne } from './sim-mesh'

const N = Number(process.argv[2] ?? 10)
const WRITES = Number(process.argv[3] ?? 3000)

const mesh = formMesh(N)
const { net, writer, reader } = mesh

// Writer: each write is its own tick, as an application setting one value at a time.
const datagrams: Uint8Array[] = []
const t0 = performance.now()
for (let i = 0; i < WRITES; i++) datagrams.push(...writeOne(mesh, i))
const writerUs = ((performance.now() - t0) * 1000) / WRITES
const data = dataOnly(datagrams)

// Receiver: the same datagrams, in order, as one reader gets them.
const t1 = performance.now()
for (const d of data) reader.engine.receive(d, READER_FROM, 'multicast', net.now)
const readerUs = ((performance.now() - t1) * 1000) / data.length
reader.engine.take()
const got = reader.engine.get(writer.nodeId, 'temperature')
if (got !== valueOf(WRITES - 1)) throw new Error(`reader holds ${String(got)}`)

const stages = stageProbes(writer.engine, reader.engine, data)
const bytes = data.reduce((s, d) => s + d.length, 0) / data.length
console.log(JSON.stringify({ N, writes: WRITES, datagramBytes: Math.round(bytes), writerUs: +writerUs.toFixed(1), readerUs: +readerUs.toFixed(1), stages }))
