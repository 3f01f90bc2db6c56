// An idle cluster on the namespace lab: CPU (all threads, from /proc/PID/task/*/schedstat) and
// process wake-ups (the main thread's voluntary context switches) per node, and one node's
// counters, over a window with nothing written. What a node costs at rest, and why.
//   DSN_BENCH_AGENT_BUNDLE=$PWD/bench/.build/node-agent.cjs npx tsx bench/tools/idle-lab.ts [N=10] [seconds=30] [dsn|floor] [--inline-delivery]
// The lab delivers from kernel threads as the bench's does (test/lab/setup.ts); what they spend
// is printed apart, per node. --inline-delivery: the old lab, senders pay for delivery.
// --perf-maps: the nodes write /tmp/perf-PID.map, so `perf record -a` names their JS frames.
// Build the bundled agent first (`npm run bench` does; plain node, as the bench measures);
// without it the agents run under tsx, whose loader costs more at idle than a node does. Root.
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { createLab } from '../../test/lab/netns'
import { sleep } from '../lib/agent'
import { System } from '../lib/system'

const N = Number(process.argv[2] ?? 10)
const SECONDS = Number(process.argv[3] ?? 30)
const impl = (process.argv[4] ?? 'dsn') as 'dsn' | 'floor'
const networkThreads = !process.argv.includes('--inline-delivery')

const perfMaps = process.argv.includes('--perf-maps')

interface Sample {
  cpuMs: number
  /** Of cpuMs: the main thread's (JS, the event loop); the rest is V8's compiler and GC helpers, libuv's pool. */
  mainMs: number
  wakeups: number
}

function sample(pid: number): Sample {
  let ns = 0, main = 0
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const taskNs = Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0])
    ns += taskNs
    if (Number(task) === pid) main = taskNs
  }
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return { cpuMs: ns / 1e6, mainMs: main / 1e6, wakeups: Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? NaN) }
}

async function counters(sys: System): Promise<Record<string, number>> {
  if (impl !== 'dsn') return {}
  const reply = await sys.agents[1].request({ op: 'status' })
  return (reply.status as { counters: Record<string, number> }).counters
}

async function main(): Promise<void> {
  const workDir = `/var/tmp/idle-lab-${process.pid}`
  const lab = await createLab({ hosts: N + 1, prefix: 'dsnidle', networkThreads })
  const sys = new System({ impl, secure: impl === 'floor' ? true : undefined }, { lab, n: N, workDir, nodeFlags: perfMaps ? ['--perf-basic-prof'] : undefined })
  try {
    await sys.start()
    // Past the introductions and the first peer lists.
    await sleep(5000)
    const pids = sys.agents.map((a) => a.child.pid as number)
    const c0 = await counters(sys)
    const before = pids.map(sample)
    const network0 = lab.networkCpuNs()
    await sleep(SECONDS * 1000)
    const after = pids.map(sample)
    const networkPercent = (lab.networkCpuNs() - network0) / 1e7 / SECONDS / N // ns -> % of a core, per node
    const c1 = await counters(sys)
    const perSec = (f: (s: Sample) => number) => after.map((s, i) => (f(s) - f(before[i])) / SECONDS)
    const cpu = perSec((s) => s.cpuMs).map((ms) => ms / 10) // ms a second -> % of a core
    const mainCpu = perSec((s) => s.mainMs).map((ms) => ms / 10)
    const wakeups = perSec((s) => s.wakeups)
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    console.log(`${impl}, N = ${N}, ${SECONDS} s at rest: CPU per node ${mean(cpu).toFixed(2)}% of a core (${Math.min(...cpu).toFixed(2)}-${Math.max(...cpu).toFixed(2)}; main thread ${mean(mainCpu).toFixed(2)}%), wake-ups ${mean(wakeups).toFixed(1)}/s (${Math.min(...wakeups).toFixed(1)}-${Math.max(...wakeups).toFixed(1)})` +
      (networkThreads ? `; the network's delivery threads ${networkPercent.toFixed(2)}% of a core per node` : ''))
    const changed = Object.keys(c1).filter((k) => c1[k] !== c0[k])
    if (changed.length > 0) console.log(`n1's counters a second: ${changed.map((k) => `${k} ${((c1[k] - (c0[k] ?? 0)) / SECONDS).toFixed(2)}`).join(', ')}`)
  } finally {
    await sys.stop()
    await lab.destroy()
    rmSync(workDir, { recursive: true, force: true })
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
