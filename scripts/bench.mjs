#!/usr/bin/env node
// npm run bench [-- --quick] [--n 5,10,20] [--only latency,throughput,wire,loss,membership,footprint]
//                [--systems dsn,floor,sfloor,mqtt1,mqtt0,mqtt1nd] [--runs K] [--writes K] [--warmup K] [--seconds S]
//                [--loss-reps K] [--profile DIR] [--perf] [--inline-delivery] [--out FILE]
// A narrowed run (any of those options) writes bench/results/custom.md, not BENCHMARKS.md.
//   npm run bench -- --report-only [bench/results/latest-quick.json]   re-renders BENCHMARKS.md
// Runs bench/main.ts under tsx. Needs root (network namespaces), nft, ethtool (the lab's delivery
// threads) and Debian's mosquitto, the last two installed here when missing. Not part of the tests.
import { execFileSync, spawn } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)

const reportOnly = args.includes('--report-only')
if (!reportOnly && process.getuid?.() !== 0) {
  console.error('npm run bench: needs root, to build the network namespaces every node runs in')
  process.exit(1)
}

function has(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

if (!reportOnly && (!args.includes('--systems') || /mqtt/.test(args[args.indexOf('--systems') + 1] ?? ''))) {
  if (!has('mosquitto')) {
    console.log('[bench] mosquitto is missing: apt-get install -y mosquitto mosquitto-clients')
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'mosquitto', 'mosquitto-clients'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    })
  }
}

if (!reportOnly && !args.includes('--inline-delivery') && !has('ethtool')) {
  console.log('[bench] ethtool is missing (the lab delivers from kernel threads): apt-get install -y ethtool')
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'ethtool'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  })
}

// The node agents run from one esbuild file with the shipped bundle's plugins (pure-JS CBOR),
// under plain node: under tsx an idle process costs 10-16 ms of CPU a second here (its loader),
// which every system's CPU per write would carry.
let agentBundle = ''
if (!reportOnly) {
  const { build } = await import('esbuild')
  const { bundlePlugins } = await import('./bundle-plugins.mjs')
  const { pureJsCbor, mqttUnused, noblePure } = bundlePlugins(root)
  agentBundle = resolve(root, 'bench/.build/node-agent.cjs')
  await build({
    entryPoints: [resolve(root, 'bench/agents/node-agent.ts')],
    outfile: agentBundle,
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'cjs',
    sourcemap: 'inline',
    plugins: [pureJsCbor, mqttUnused, noblePure],
    logLevel: 'warning',
  })
}

const env = { ...process.env, DSN_BENCH_AGENT_BUNDLE: agentBundle }
const child = spawn(process.execPath, ['--import', 'tsx', resolve(root, 'bench/main.ts'), ...args], { cwd: root, stdio: 'inherit', env })
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig))
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
