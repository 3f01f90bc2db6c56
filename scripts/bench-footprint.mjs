#!/usr/bin/env node
// Footprint of the `dsn` daemon, printed figure by figure (a benchmark, not a test):
//   - bundle size (dist/dsn.cjs, minified);
//   - RSS of a bare `node -e` on the same runtime (the baseline);
//   - daemon RSS at idle alone, and with 20 peers holding 100 keys each, over that baseline;
//   - time from spawn to the daemon's first heartbeat (and the same seen from inside);
// for each set of Node flags given (default: none, and the flags the systemd unit uses).
//
//   node scripts/bench-footprint.mjs [--node PATH] [--peers 20] [--keys 100] [--runs 5]
//                                    [--flags "--max-semi-space-size=1 ..."]... [--json]
//                                    [--env NAME=VALUE]...  (extra daemon environment, e.g. DSN_HTTP=127.0.0.1:9464)
//                                    [--only rss|writes|start] [--writes 2000] [--spawns 20]
// --only start: first heartbeat and the writes, no peers (for qemu runtimes, where RSS reads 0);
// --unicast-only: no multicast, no mDNS (qemu-user cannot set IP_MULTICAST_IF).
// Writes: writes/s and CPU per write (client + daemon, from /proc) of three ways to publish from
// a script: a loop of `dsn set` (one Node start each), `dsn set --stdin` (one Node for the
// stream) and the Python client (clients/python, one connection).
// --node: the runtime, e.g. /var/cache/dsn-node-runtimes/bin/node18-amd64 (RSS reads 0 under
// qemu, so arm64/armhf give no memory figures). Every daemon runs inside a fresh network
// namespace holding only `lo` (unshare -n, multicast routed on lo: test/lab/one-host.ts).
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tsImport } from 'tsx/esm/api'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
// The flags deploy/ puts on the service's node command line for a 512 MB board: a 1 MB young
// generation (semi-space) keeps scavenges cheap and the heap small for a daemon whose objects
// are few and long-lived; the old-space cap bounds the heap far below the unit's memory cap;
// --optimize-for-size trades a little speed for smaller code and heap; --v8-pool-size=1 keeps one
// background worker instead of one per core.
export const SERVICE_FLAGS = '--max-semi-space-size=1 --max-old-space-size=48 --optimize-for-size --v8-pool-size=1'

const argv = process.argv.slice(2)
const opt = (name, fallback) => {
  const i = argv.indexOf(name)
  return i === -1 ? fallback : argv[i + 1]
}
const allFlags = argv.flatMap((a, i) => (a === '--flags' ? [argv[i + 1]] : []))
const extraEnv = Object.fromEntries(argv.flatMap((a, i) => (a === '--env' ? [argv[i + 1].split(/=(.*)/s).slice(0, 2)] : [])))

async function outside() {
  const work = mkdtempSync(join(tmpdir(), 'dsn-footprint-'))
  try {
    const bundle = join(work, 'dsn.cjs')
    execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--bundle-only', '--quiet', '--outfile', bundle], { stdio: 'inherit' })
    const size = statSync(bundle).size
    const settings = {
      bundle,
      work,
      node: resolve(opt('--node', process.execPath)),
      peers: Number(opt('--peers', 20)),
      keys: Number(opt('--keys', 100)),
      runs: Number(opt('--runs', 5)),
      flags: allFlags.length > 0 ? allFlags : ['', SERVICE_FLAGS],
      json: argv.includes('--json'),
      env: extraEnv,
      only: opt('--only', 'all'),
      writes: Number(opt('--writes', 2000)),
      spawns: Number(opt('--spawns', 20)),
      pythonPath: join(root, 'clients/python/src'),
      unicastOnly: argv.includes('--unicast-only'),
    }
    if (!settings.json) console.log(`bundle            ${size} bytes (${(size / 1024).toFixed(1)} KiB) minified   [target <= 150 KiB]`)
    const { runInLoopbackNamespace } = await tsImport('../test/lab/one-host.ts', import.meta.url)
    const child = runInLoopbackNamespace(process.execPath, [fileURLToPath(import.meta.url), '--inside', JSON.stringify({ ...settings, bundleBytes: size })], { env: cleanEnv() })
    child.stdout.pipe(process.stdout)
    child.stderr.pipe(process.stderr)
    const code = await new Promise((r) => child.once('exit', r))
    process.exitCode = code ?? 1
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

// ---- inside the namespace ----

async function inside(s) {
  const { assertInLabNamespace } = await tsImport('../test/lab/guard.ts', import.meta.url)
  assertInLabNamespace()
  const key = 'be'.repeat(32)
  const version = execFileSync(s.node, ['-p', 'process.version + " " + process.arch'], { env: cleanEnv() }).toString().trim()
  const baselineMem = await baselineRss(s.node)
  const baseline = baselineMem.rss
  const bareStarts = []
  for (let i = 0; i < s.runs; i++) bareStarts.push(await bareStart(s.node))
  const bareStart50 = median(bareStarts)
  const out = { runtime: `${s.node} (${version})`, bundleBytes: s.bundleBytes, baselineMB: mb(baseline), baselineAnonMB: mb(baselineMem.anon), bareStartMs: bareStart50, loadAverage: loadavg()[0], variants: [] }
  if (!s.json) {
    console.log(`runtime           ${out.runtime}; load average ${loadavg()[0].toFixed(2)} on ${cpus().length} CPUs`)
    console.log(`baseline          node -e: RSS ${mb(baseline)} MB (anonymous ${mb(baselineMem.anon)} MB, file-backed ${mb(baselineMem.file)} MB); spawn to first output ${bareStart50} ms (median of ${s.runs})`)
  }
  let serial = 0
  if (s.only !== 'rss') out.writes = await writeWays(s, key, () => `writes${serial++}`)
  if (s.only === 'writes') {
    if (s.json) console.log(JSON.stringify(out))
    return
  }
  for (const flags of s.flags) {
    const starts = []
    for (let i = 0; i < s.runs; i++) {
      const d = await startDaemon(s, flags, key, `start${serial++}`)
      starts.push(d.firstHeartbeat)
      await d.stop()
    }
    if (s.only === 'start') {
      const wall = median(starts.map((x) => x.wallMs))
      const inner = median(starts.map((x) => x.sinceProcessStartMs))
      out.variants.push({ flags, firstHeartbeatWallMs: wall, firstHeartbeatInProcessMs: inner, overBareStartMs: wall - bareStart50 })
      if (!s.json) console.log(`flags             ${flags || '(none)'}\n  first heartbeat ${wall} ms from spawn (${wall - bareStart50} ms more than a bare node), ${inner} ms from process start (median of ${s.runs})`)
      continue
    }
    const d = await startDaemon(s, flags, key, `idle${serial++}`)
    await sleep(3000)
    const alone = rss(d.child.pid)
    const peers = await startPeers(s, key)
    await waitConverged(s, d.socket, s.peers, s.keys)
    await sleep(10_000)
    const withPeersMem = memory(d.child.pid)
    const inside = daemonMemory(s, d.socket)
    const withPeers = withPeersMem.rss
    peers.kill('SIGTERM')
    await d.stop()
    const wall = median(starts.map((x) => x.wallMs))
    const inner = median(starts.map((x) => x.sinceProcessStartMs))
    const v = { flags, daemonMemoryKB: inside, idleWithPeersFileMB: mb(withPeersMem.file), firstHeartbeatWallMs: wall, firstHeartbeatInProcessMs: inner, overBareStartMs: wall - bareStart50, idleAloneMB: mb(alone), idleWithPeersMB: mb(withPeers), idleWithPeersAnonMB: mb(withPeersMem.anon), overBaselineMB: mb(withPeers - baseline) }
    out.variants.push(v)
    if (!s.json) {
      console.log(`flags             ${flags || '(none)'}`)
      console.log(`  first heartbeat ${wall} ms from spawn (${wall - bareStart50} ms more than a bare node), ${inner} ms from process start (median of ${s.runs})   [target <= 150 ms]`)
      console.log(`  RSS idle alone  ${mb(alone)} MB (+${mb(alone - baseline)} over baseline)`)
      console.log(`  RSS idle, ${s.peers} peers x ${s.keys} keys  ${mb(withPeers)} MB (+${mb(withPeers - baseline)} over baseline; anonymous ${mb(withPeersMem.anon)} MB (+${mb(withPeersMem.anon - baselineMem.anon)}), file-backed ${mb(withPeersMem.file)} MB (+${mb(withPeersMem.file - baselineMem.file)}))   [target: +6 MB over a bare node]`)
      if (inside) console.log(`  inside          V8 heap ${mb(inside.heapUsed)} MB used of ${mb(inside.heapTotal)} MB; external ${mb(inside.external)} MB (array buffers ${mb(inside.arrayBuffers)} MB)`)
    }
  }
  if (s.json) console.log(JSON.stringify(out))
}

/** writes/s and CPU ms per write of each way, against one daemon (default flags). */
async function writeWays(s, key, name) {
  const d = await startDaemon(s, '', key, name())
  const env = { ...cleanEnv(), DSN_SOCKET: d.socket }
  const ways = {}
  const measure = async (way, writes, run) => {
    const before = { self: childTicks(), daemon: procTicks(d.child.pid), t: performance.now() }
    await run()
    const wallMs = performance.now() - before.t
    const clientMs = ticksToMs(childTicks() - before.self)
    const daemonMs = ticksToMs(procTicks(d.child.pid) - before.daemon)
    ways[way] = { writes, wallMs: Math.round(wallMs), writesPerSecond: Math.round((writes / wallMs) * 10000) / 10, cpuMsPerWrite: round3((clientMs + daemonMs) / writes), clientCpuMsPerWrite: round3(clientMs / writes), daemonCpuMsPerWrite: round3(daemonMs / writes) }
  }
  await measure('dsn set (loop)', s.spawns, async () => {
    for (let i = 0; i < s.spawns; i++) await exited(spawn(s.node, [s.bundle, 'set', 'temperature', String(20 + i / 10)], { env, stdio: 'ignore' }))
  })
  const lines = Array.from({ length: s.writes }, (_, i) => `temperature ${20 + (i % 100) / 10}\n`).join('')
  await measure('dsn set --stdin', s.writes, async () => {
    const child = spawn(s.node, [s.bundle, 'set', '--stdin'], { env, stdio: ['pipe', 'ignore', 'inherit'] })
    child.stdin.end(lines)
    await exited(child)
  })
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'
  const script = `from dsn_client import Client\nc = Client()\nfor i in range(${s.writes}):\n    c.set("temperature", 20 + (i % 100) / 10)\n`
  await measure('python dsn_client', s.writes, () => exited(spawn(python, ['-c', script], { env: { ...env, PYTHONPATH: s.pythonPath }, stdio: ['ignore', 'ignore', 'inherit'] })))
  await d.stop()
  const base = ways['dsn set (loop)'].cpuMsPerWrite
  for (const w of Object.values(ways)) w.cpuRatioToSetLoop = round3(w.cpuMsPerWrite / base)
  if (!s.json) {
    console.log(`writes            (one daemon; CPU = client + daemon, from /proc; load average ${loadavg()[0].toFixed(2)})`)
    for (const [way, w] of Object.entries(ways)) {
      console.log(`  ${way.padEnd(20)} ${String(w.writesPerSecond).padStart(6)} writes/s, ${w.cpuMsPerWrite} ms CPU/write (client ${w.clientCpuMsPerWrite}, daemon ${w.daemonCpuMsPerWrite}); ${w.cpuRatioToSetLoop}x the CPU of the dsn set loop (${w.writes} writes in ${w.wallMs} ms)`)
    }
  }
  return ways
}

const exited = (child) => new Promise((r, reject) => child.once('exit', (code) => (code === 0 ? r() : reject(new Error(`${child.spawnfile} exited ${code}`)))))
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100
const ticksToMs = (ticks) => (ticks * 1000) / CLK_TCK
/** utime + stime of a process, in clock ticks. */
function procTicks(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return Number(f[11]) + Number(f[12])
}
/** cutime + cstime of this process: CPU of the children it has waited for. */
function childTicks() {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')
  return Number(f[13]) + Number(f[14])
}
const round3 = (x) => Math.round(x * 1000) / 1000

async function baselineRss(node) {
  const child = spawn(node, ['-e', 'setInterval(() => {}, 1e6)'], { env: cleanEnv(), stdio: 'ignore' })
  await sleep(1500)
  const kb = memory(child.pid)
  child.kill('SIGKILL')
  return kb
}

/** Spawn to first output of a bare `node -e`: what the runtime itself costs on this machine now. */
function bareStart(node) {
  const t0 = performance.now()
  const child = spawn(node, ['-e', 'process.stdout.write("x")'], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'ignore'] })
  return new Promise((r) => child.stdout.once('data', () => r(Math.round(performance.now() - t0))))
}

function startDaemon(s, flags, key, name) {
  const socket = join(s.work, `${name}.sock`)
  const env = { ...cleanEnv(), DSN_NETWORK_KEY: key, DSN_NODE_ID: name, DSN_CLUSTER: 'bench', DSN_INTERFACE: 'lo', DSN_SOCKET: socket, DSN_CREDENTIAL_DIR: join(s.work, name), ...s.env }
  // qemu-user does not translate IP_MULTICAST_IF (ENOPROTOOPT): emulated runtimes run unicast-only.
  if (s.unicastOnly) Object.assign(env, { DSN_MULTICAST: 'false', DSN_MDNS: 'false' })
  const t0 = performance.now()
  // exec chains (the runtime launchers exec node): child.pid is node's pid.
  const child = spawn(s.node, [...flags.split(' ').filter(Boolean), s.bundle, 'run'], { env, stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolvePromise, reject) => {
    let buffer = ''
    const timer = setTimeout(() => reject(new Error(`${name}: no first-heartbeat within 120 s`)), 120_000)
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      buffer += chunk
      const lines = buffer.split('\n')
      buffer = lines.pop()
      for (const line of lines) {
        const l = JSON.parse(line)
        if (l.msg !== 'first-heartbeat') continue
        clearTimeout(timer)
        const exited = new Promise((r) => child.once('exit', r))
        resolvePromise({
          child,
          socket,
          firstHeartbeat: { wallMs: Math.round(performance.now() - t0), sinceProcessStartMs: l.sinceProcessStartMs },
          stop: async () => {
            child.kill('SIGTERM')
            await exited
          },
        })
      }
    })
  })
}

function startPeers(s, key) {
  const script = `
    const { DSNode } = require(${JSON.stringify(s.bundle)})
    ;(async () => {
      for (let i = 0; i < ${s.peers}; i++) {
        const node = await DSNode.start({ nodeId: 'peer' + i, networkKey: ${JSON.stringify(key)}, cluster: 'bench', interface: 'lo', mdns: false, credentialDir: ${JSON.stringify(s.work)} + '/peer' + i })
        for (let k = 0; k < ${s.keys}; k++) node.set('key' + k, 'value-' + i + '-' + k)
      }
    })()`
  return spawn(process.execPath, ['-e', script], { env: cleanEnv(), stdio: ['ignore', 'ignore', 'inherit'] })
}

async function waitConverged(s, socket, peers, keys) {
  const deadline = Date.now() + 60_000
  for (;;) {
    try {
      const status = JSON.parse(execFileSync(process.execPath, [s.bundle, 'status', '--json', '--socket', socket], { env: cleanEnv() }).toString())
      if (status.peers.length === peers && status.peers.every((p) => p.keys === keys)) return
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`the daemon did not see ${peers} peers x ${keys} keys within 60 s`)
    await sleep(250)
  }
}

/** The daemon's own view of its memory (dsn status --json: daemon.memoryKB), kB; undefined if absent. */
function daemonMemory(s, socket) {
  try {
    return JSON.parse(execFileSync(process.execPath, [s.bundle, 'status', '--json', '--socket', socket], { env: cleanEnv() }).toString()).daemon.memoryKB
  } catch {
    return undefined
  }
}

function rss(pid) {
  return memory(pid).rss
}

/** kB from /proc: VmRSS, and its anonymous part (heap, stacks) and file-backed part (the binary, libraries). */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0)
  return { rss: field('VmRSS'), anon: field('RssAnon'), file: field('RssFile') }
}

function cleanEnv() {
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  return env
}

const mb = (kb) => Math.round(kb / 102.4) / 10
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

if (argv[0] === '--inside') await inside(JSON.parse(argv[1]))
else await outside()
