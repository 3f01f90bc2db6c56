// A daemon without `mqtt` must not pay for the bridge: src/mqtt/bridge.ts and MQTT.js are reached
// only through the require() in src/daemon/mqtt-hook.ts, which esbuild turns into a lazily
// evaluated module of dist/dsn.cjs. A static import anywhere else would evaluate them at start.
import t from 'tap'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import * as path from 'node:path'

const SRC = path.resolve(__dirname, '..', '..', 'src')

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name)
    return statSync(full).isDirectory() ? files(full) : full.endsWith('.ts') ? [full] : []
  })
}

// Value imports (not `import type`) and require() calls of a module path.
const IMPORT = /^\s*(import|export)\s+(?!type\b)[^'"]*from\s+['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)/gm

t.test('the bridge and MQTT.js are loaded only by the hook', async (t) => {
  const offenders: string[] = []
  let hookRequires = 0
  for (const file of files(SRC)) {
    const rel = path.relative(SRC, file)
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = m[2] ?? m[3]
      const isRequire = m[3] !== undefined
      const target = spec.startsWith('.') ? path.relative(SRC, path.resolve(path.dirname(file), spec)) : spec
      const heavy = target === 'mqtt' || target === path.join('mqtt', 'bridge')
      if (!heavy) continue
      if (rel === path.join('daemon', 'mqtt-hook.ts') && isRequire && target === path.join('mqtt', 'bridge')) hookRequires++
      else if (!(rel.startsWith('mqtt' + path.sep) && target === 'mqtt')) offenders.push(`${rel}: ${m[0].trim()}`)
    }
  }
  t.same(offenders, [], 'no static import of mqtt or src/mqtt/bridge outside src/mqtt')
  t.equal(hookRequires, 1, 'mqtt-hook.ts require()s the bridge')
})
