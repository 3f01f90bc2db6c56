// 6. Footprint at idle: every node holds `keys` keys of its own (so each holds N x keys), then
// nothing is written for idleMs. RSS and heap from process.memoryUsage() at the end; CPU from
// process.cpuUsage() over the window, as a share of one core. The agents run from one esbuild
// file (scripts/bench.mjs): `tsxBaseMB` is the agent's RSS before it loaded anything of ours
// (under tsx when run without scripts/bench.mjs), and `rssMB - tsxBaseMB` approximates the
// node's own share. The
// bundled daemon's footprint under the service's Node flags is scripts/bench-footprint.mjs.
import { sleep } from '../lib/agent'
import { median } from '../lib/stats'
import type { System } from '../lib/system'

export interface Footprint {
  nodes: number
  keysPerNode: number
  rssMB: number
  rssMaxMB: number
  heapUsedMB: number
  tsxBaseMB: number
  cpuPercent: number
  cpuMaxPercent: number
  /** The lab's delivery threads over the same window, per node (every system's idle traffic, of
   * which DSN's heartbeats are nearly all); NaN where the lab delivers inside the sender's syscall. */
  networkCpuPercent: number
  brokerRssMB?: number
  brokerCpuPercent?: number
}

const MB = 1024 * 1024

export async function footprintRun(sys: System, keys: number, idleMs: number): Promise<Footprint> {
  await Promise.all(sys.agents.map((a) => a.request({ op: 'burst', prefix: 'fp', count: keys, keys, base: 1 })))
  await sleep(3000)
  const sample = () => Promise.all(sys.agents.map(async (a) => (await a.request({ op: 'memory' })) as unknown as MemoryReply))
  const broker0 = sys.broker?.usage()
  const network0 = sys.ctx.lab.networkCpuNs()
  const m1 = await sample()
  await sleep(idleMs)
  const m2 = await sample()
  const network1 = sys.ctx.lab.networkCpuNs()
  const broker1 = sys.broker?.usage()
  const cpu = m2.map((m, i) => {
    const used = m.cpu.user + m.cpu.system - (m1[i].cpu.user + m1[i].cpu.system)
    return (used / 1000 / (m.t - m1[i].t)) * 100
  })
  const rss = m2.map((m) => m.memory.rss / MB)
  return {
    nodes: sys.agents.length,
    keysPerNode: keys,
    rssMB: median(rss),
    rssMaxMB: Math.max(...rss),
    heapUsedMB: median(m2.map((m) => m.memory.heapUsed / MB)),
    tsxBaseMB: median(m2.map((m) => m.memBefore / MB)),
    cpuPercent: median(cpu),
    cpuMaxPercent: Math.max(...cpu),
    networkCpuPercent: ((network1 - network0) / 1e6 / (m2[0].t - m1[0].t)) * 100 / sys.agents.length,
    ...(broker0 && broker1
      ? { brokerRssMB: broker1.rssMB, brokerCpuPercent: ((broker1.cpuS - broker0.cpuS) / ((m2[0].t - m1[0].t) / 1000)) * 100 }
      : {}),
  }
}

interface MemoryReply {
  t: number
  memory: NodeJS.MemoryUsage
  cpu: NodeJS.CpuUsage
  memBefore: number
}
