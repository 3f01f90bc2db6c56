#!/usr/bin/env node
// npm run build: dist/dsn.cjs (one minified file: CLI, daemon, library and every dependency,
// no native addon, shebang, mode 755) and dist/lib/ (tsc: .js + .d.ts for `import` users).
//   node scripts/build.mjs [--bundle-only] [--outfile FILE] [--quiet] [--analyze]
// --analyze prints the bytes each package / src folder adds to the bundle.
// The bundle targets Node 18 (Debian bookworm's nodejs 18.20, Raspberry Pi OS).
import { build } from 'esbuild'
import { execFileSync } from 'node:child_process'
import { chmodSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundlePlugins } from './bundle-plugins.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const bundleOnly = args.includes('--bundle-only')
const quiet = args.includes('--quiet')
const analyze = args.includes('--analyze')
const outIndex = args.indexOf('--outfile')
const outfile = resolve(outIndex === -1 ? join(root, 'dist/dsn.cjs') : args[outIndex + 1])
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const log = (...line) => quiet || console.log(...line)

const { pureJsCbor, mqttUnused, noblePure } = bundlePlugins(root)

const started = Date.now()
const result = await build({
  entryPoints: [join(root, 'src/cli/bundle.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  minify: true,
  legalComments: 'none',
  banner: { js: '#!/usr/bin/env node' },
  define: { __DSN_VERSION__: JSON.stringify(pkg.version) },
  plugins: [pureJsCbor, mqttUnused, noblePure],
  metafile: true,
  logLevel: 'warning',
})
chmodSync(outfile, 0o755)

const inputs = Object.keys(result.metafile.inputs)
const native = inputs.filter((p) => /\.node$|cbor-extract\/|node-gyp-build/.test(p))
if (native.length > 0) {
  console.error(`build: native code reached the bundle: ${native.join(', ')}`)
  process.exit(1)
}
const size = statSync(outfile).size
log(`${outfile.startsWith(root + '/') ? relative(root, outfile) : outfile}: ${size} bytes (${(size / 1024).toFixed(1)} KiB) minified, ${inputs.length} modules, ${Date.now() - started} ms`)
if (analyze) {
  const byPart = {}
  for (const [input, { bytesInOutput }] of Object.entries(Object.values(result.metafile.outputs)[0].inputs)) {
    const pkgName = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(input)?.[1]
    const part = pkgName ?? (input.startsWith('src/') ? input.split('/').slice(0, 2).join('/') : input)
    byPart[part] = (byPart[part] ?? 0) + bytesInOutput
  }
  for (const [part, bytes] of Object.entries(byPart).sort((a, b) => b[1] - a[1])) log(`  ${String(bytes).padStart(7)}  ${part}`)
  const loads = loadedCode(result.metafile)
  log('code each way of running evaluates (minified bytes; require() inside src/ functions is lazy):')
  for (const [way, { bytes, modules }] of Object.entries(loads)) log(`  ${String(bytes).padStart(7)}  ${way} (${modules.length} modules)`)
  if (args.includes('--loads-json')) console.log(JSON.stringify(loads))
}
if (!inputs.some((p) => p.endsWith('src/node/dsnode.ts'))) {
  log('build: WARNING src/node/dsnode.ts is not in the bundle yet: `dsn run` will say it has no mesh node')
}

if (!bundleOnly) {
  const t0 = Date.now()
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit', cwd: root })
  log(`dist/lib: tsc (.js + .d.ts) in ${Date.now() - t0} ms`)
}

/**
 * Which modules each way of running the bundle evaluates. esbuild wraps a module that is
 * require()d as a lazily evaluated one; our src/ files require() only inside functions (the lazy
 * edges), while CommonJS packages require at their top level (evaluated with their importer).
 */
function loadedCode(metafile) {
  const inputs = metafile.inputs
  const output = Object.values(metafile.outputs)[0].inputs
  // (`import x = require('pkg')` in src/ is a top-level require of a package: eager.)
  const lazy = (from, imp) => imp.kind === 'dynamic-import' || (imp.kind === 'require-call' && from.startsWith('src/') && imp.path.startsWith('src/'))
  const lazyTargets = (file) => (inputs[file]?.imports ?? []).filter((i) => lazy(file, i)).map((i) => i.path)
  const closure = (starts) => {
    const seen = new Set()
    const stack = [...starts]
    while (stack.length > 0) {
      const file = stack.pop()
      if (seen.has(file) || !inputs[file]) continue
      seen.add(file)
      for (const imp of inputs[file].imports) if (!imp.external && !lazy(file, imp)) stack.push(imp.path)
    }
    return seen
  }
  const entry = ['src/cli/bundle.ts']
  const cli = [...entry, 'src/cli/main.ts']
  const run = [...cli, ...lazyTargets('src/cli/commands/run.ts'), ...lazyTargets('src/cli/start-node.ts')]
  const ways = {
    'dsn set/get/del/peers/status/watch': closure(cli),
    'dsn set --stdin': closure([...cli, 'src/cli/set-stream.ts']),
    'dsn run, mdns off': closure(run),
    'dsn run (defaults: mdns on, no MQTT/HTTP)': closure([...run, 'src/discovery/mdns.ts']),
    "require('dsn.cjs') (the library)": closure([...entry, 'src/index.ts', 'src/discovery/mdns.ts']),
  }
  return Object.fromEntries(
    Object.entries(ways).map(([way, files]) => [way, { bytes: [...files].reduce((n, f) => n + (output[f]?.bytesInOutput ?? 0), 0), modules: [...files].sort() }]),
  )
}
