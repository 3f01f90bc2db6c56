// 1. Propagation latency: a write on one node until the `update` event on EVERY other node.
// One write outstanding at a time, then a random 0-5 ms pause so writes do not fall into step
// with heartbeats. Latency of a write = latest receiver's event time - the writer's clock just
// before set() (both stamped inside the node processes, on one clock).
import { sleep } from '../lib/agent'
import { dist, type Dist } from '../lib/stats'
import type { System } from '../lib/system'

export interface LatencyRun extends Dist {
  timeouts: number
  /** CPU (user + system) per write: the writer process, the mean receiver process, the broker. */
  writerCpuUs: number
  receiverCpuUs: number
  brokerCpuUs: number
  /** CPU of the lab's delivery threads per write (the switch's flood and every host's kernel
   * receive: Lab.networkCpuNs), NaN where the lab delivers inside the sender's syscall. */
  networkCpuUs: number
  /** The kernel's share (system time) of writerCpuUs and receiverCpuUs. */
  writerSysUs: number
  receiverSysUs: number
  /** Datagrams the writer sent (sealed, and the unicast copies of them), and the mean receiver received, per write (NaN for MQTT). */
  writerSentPerWrite: number
  writerUnicastCopiesPerWrite: number
  receiverReceivedPerWrite: number
  /** Datagrams the writer itself received per write: NACKs, heartbeats, its own looped back. */
  writerReceivedPerWrite: number
  /** Of writerCpuUs and receiverCpuUs: what the same process spends at rest over as long
   * (heartbeats, timers), measured just before the run; NaN unless asked for (`measureRest`). What is
   * left is the write's own cost. Approximate: a node sending data skips some heartbeats. */
  writerIdleCpuUs: number
  receiverIdleCpuUs: number
  /** Of writerCpuUs and receiverCpuUs: the threads besides the main one (V8's compiler and GC
   * helpers, libuv's pool), from /proc's schedstat; NaN where the kernel does not keep it. */
  writerHelperUs: number
  receiverHelperUs: number
  /** Garbage-collection pauses on the main thread per write (perf_hooks 'gc' entries), and
   * scavenges per 1,000 writes; NaN where the agent does not report them. */
  writerGcUs: number
  receiverGcUs: number
  writerScavengesPerKWrite: number
  receiverScavengesPerKWrite: number
}

/** A counter of every agent's store, NaN where the system does not count it. */
async function counterNow(sys: System, name: string): Promise<number[]> {
  return Promise.all(sys.agents.map(async (a) => {
    const status = (await a.request({ op: 'status' })).status as { counters?: Record<string, number> } | undefined
    const counters = status?.counters
    return counters?.[name] ?? NaN
  }))
}

/** CPU microseconds used by each agent so far (user + system). */
export async function cpuNow(sys: System): Promise<number[]> {
  return (await cpuSplitNow(sys)).map((c) => c.user + c.system)
}

interface CpuSample extends NodeJS.CpuUsage {
  /** Microseconds on a CPU of every thread but the main one, NaN if unknown. */
  helpers: number
  /** Main-thread GC pause microseconds and scavenges so far, NaN if unknown. */
  gcUs: number
  scavenges: number
}

async function cpuSplitNow(sys: System): Promise<CpuSample[]> {
  return Promise.all(sys.agents.map(async (a) => {
    const reply = await a.request({ op: 'memory' })
    const threads = reply.threads as { main: number; helpers: number } | null | undefined
    const gc = reply.gc as { ms: number; scavenges: number } | undefined
    return { ...(reply.cpu as NodeJS.CpuUsage), helpers: threads ? threads.helpers / 1000 : NaN, gcUs: gc ? gc.ms * 1000 : NaN, scavenges: gc ? gc.scavenges : NaN }
  }))
}

/** How long each process is watched at rest before an unloaded run: three heartbeat intervals. */
const REST_SAMPLE_MS = 3000

/** CPU microseconds per millisecond each agent spends with nothing written. */
async function restingCpuRate(sys: System): Promise<number[]> {
  const before = await cpuNow(sys)
  const t0 = performance.now()
  await sleep(REST_SAMPLE_MS)
  const after = await cpuNow(sys)
  const elapsed = performance.now() - t0
  return after.map((us, i) => (us - before[i]) / elapsed)
}

/** Background load: `writers` other nodes each write one key every `intervalMs`. */
export interface BackgroundLoad {
  writers: number
  intervalMs: number
}

let nextValue = 1

/** `measureRest`: watch every process at rest first (writerIdleCpuUs, receiverIdleCpuUs; 3 s more), unloaded runs only. */
export async function latencyRun(sys: System, writes: number, load: BackgroundLoad | null, measureRest = false): Promise<LatencyRun> {
  const [writer, ...receivers] = sys.agents
  const loaders = load ? sys.agents.slice(-load.writers).filter((a) => a !== writer) : []
  await sys.print({ prefix: 'lat' })
  const pending = new Map<number, { count: number; maxT: number; resolve: () => void }>()
  const offs = receivers.map((a) =>
    a.on((e) => {
      if (e.ev !== 'update' || e.key !== 'lat' || e.nodeId !== writer.nodeId) return
      const p = pending.get(e.value as number)
      if (!p) return
      p.count++
      p.maxT = Math.max(p.maxT, e.t)
      if (p.count === receivers.length) p.resolve()
    }),
  )
  await Promise.all(loaders.map((a) => a.request({ op: 'load', prefix: 'bg', intervalMs: load?.intervalMs, keys: 100 })))
  if (loaders.length > 0) await sleep(500)
  const latencies: number[] = []
  let timeouts = 0
  const resting = measureRest && !load ? await restingCpuRate(sys) : null
  const cpu0 = await cpuSplitNow(sys)
  const network0 = sys.ctx.lab.networkCpuNs()
  const t0 = performance.now()
  const sent0 = await counterNow(sys, 'datagrams-sent')
  const copies0 = await counterNow(sys, 'unicast-copies')
  const received0 = await counterNow(sys, 'datagrams-received')
  const broker0 = sys.broker?.usage().cpuS ?? 0
  try {
    for (let i = 0; i < writes; i++) {
      const value = nextValue++
      let entry!: { count: number; maxT: number; resolve: () => void }
      const all = new Promise<void>((resolve) => {
        entry = { count: 0, maxT: 0, resolve }
        pending.set(value, entry)
      })
      const reply = await writer.request({ op: 'set', key: 'lat', value })
      let timer: NodeJS.Timeout | undefined
      const inTime = await Promise.race([all.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 5000)))])
      clearTimeout(timer)
      pending.delete(value)
      if (inTime) latencies.push(entry.maxT - reply.t)
      else {
        timeouts++
        latencies.push(Infinity)
      }
      await sleep(Math.random() * 5)
    }
  } finally {
    offs.forEach((off) => off())
    await Promise.all(loaders.map((a) => a.request({ op: 'load', intervalMs: 0 })))
    await sys.print('none')
  }
  const cpu1 = await cpuSplitNow(sys)
  const network1 = sys.ctx.lab.networkCpuNs()
  const elapsedMs = performance.now() - t0
  const sent1 = await counterNow(sys, 'datagrams-sent')
  const copies1 = await counterNow(sys, 'unicast-copies')
  const received1 = await counterNow(sys, 'datagrams-received')
  const receivedPerReceiver = received1.slice(1).reduce((a, b, i) => a + b - received0[i + 1], 0) / (received1.length - 1)
  const used = cpu1.map((c, i) => c.user + c.system - cpu0[i].user - cpu0[i].system)
  const kernel = cpu1.map((c, i) => c.system - cpu0[i].system)
  const helpers = cpu1.map((c, i) => c.helpers - cpu0[i].helpers)
  const gcUs = cpu1.map((c, i) => c.gcUs - cpu0[i].gcUs)
  const scavenges = cpu1.map((c, i) => c.scavenges - cpu0[i].scavenges)
  const meanOfReceivers = (xs: number[]): number => xs.slice(1).reduce((a, b) => a + b, 0) / (xs.length - 1)
  const receiverCpu = meanOfReceivers(used)
  return {
    ...dist(latencies),
    timeouts,
    writerCpuUs: used[0] / writes,
    receiverCpuUs: receiverCpu / writes,
    writerSysUs: kernel[0] / writes,
    receiverSysUs: meanOfReceivers(kernel) / writes,
    networkCpuUs: (network1 - network0) / 1000 / writes,
    brokerCpuUs: sys.broker ? ((sys.broker.usage().cpuS - broker0) * 1e6) / writes : NaN,
    writerSentPerWrite: (sent1[0] - sent0[0]) / writes,
    writerUnicastCopiesPerWrite: ((copies1[0] ?? 0) - (copies0[0] ?? 0)) / writes,
    receiverReceivedPerWrite: receivedPerReceiver / writes,
    writerReceivedPerWrite: (received1[0] - received0[0]) / writes,
    writerIdleCpuUs: resting ? (resting[0] * elapsedMs) / writes : NaN,
    receiverIdleCpuUs: resting ? (meanOfReceivers(resting) * elapsedMs) / writes : NaN,
    writerHelperUs: helpers[0] / writes,
    receiverHelperUs: meanOfReceivers(helpers) / writes,
    writerGcUs: gcUs[0] / writes,
    receiverGcUs: meanOfReceivers(gcUs) / writes,
    writerScavengesPerKWrite: (scavenges[0] * 1000) / writes,
    receiverScavengesPerKWrite: (meanOfReceivers(scavenges) * 1000) / writes,
  }
}
