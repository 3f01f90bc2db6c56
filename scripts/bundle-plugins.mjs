// The esbuild plugins of the shipped bundle (scripts/build.mjs), shared with the benchmark's
// agent bundle (scripts/bench.mjs), so the bench runs our code the way a board does.
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/** @param {string} root the repository root */
export function bundlePlugins(root) {
  const requireFromRoot = createRequire(join(root, 'package.json'))
  // cbor-x tries require('cbor-extract') (a native addon) inside try/catch and falls back to its
  // pure-JS decoder. We make that require throw, always: the bundle then behaves the same on
  // every board whatever is installed beside it. cbor-x itself is taken as its CommonJS build,
  // whose require() esbuild can see (its ESM entry reaches the addon through import.meta).
  const pureJsCbor = {
    name: 'pure-js-cbor',
    setup(b) {
      b.onResolve({ filter: /^cbor-x$/ }, () => ({ path: join(dirname(requireFromRoot.resolve('cbor-x/package.json')), 'index.js') }))
      b.onResolve({ filter: /^cbor-extract$/ }, () => ({ path: 'cbor-extract', namespace: 'no-native' }))
      b.onLoad({ filter: /.*/, namespace: 'no-native' }, () => ({
        contents: "throw new Error('cbor-extract (native) is not bundled: dsn uses the pure-JS CBOR path')",
        loader: 'js',
      }))
    },
  }

  // MQTT.js (the bridge, src/mqtt/) reaches for `ws` (ws:// urls), `socks` (SOCKS proxies) and
  // `worker-timers` (browser timers) when its modules load, but the bridge only speaks mqtt:// and
  // mqtts:// (validated in src/mqtt/config.ts) with Node's own timers: each is replaced by a stub
  // that throws if it is ever used, which saves ~140 KB of the bundle.
  const MQTT_UNUSED = ['ws', 'socks', 'worker-timers']
  const mqttUnused = {
    name: 'mqtt-unused',
    setup(b) {
      b.onResolve({ filter: new RegExp(`^(${MQTT_UNUSED.join('|')})$`) }, (a) => ({ path: a.path, namespace: 'mqtt-unused' }))
      b.onLoad({ filter: /.*/, namespace: 'mqtt-unused' }, (a) => ({
        contents: `function no() { throw new Error('${'${a.path}'} is not bundled: the MQTT bridge speaks mqtt:// and mqtts:// only') }
  module.exports = new Proxy(no, { get: (_, k) => (k === '__esModule' ? false : k === 'default' ? module.exports : no) })`,
        loader: 'js',
      }))
    },
  }
  // src/seal/pair-keys.ts takes only HChaCha20 from @noble/ciphers' chacha module, but two of its
  // top-level calls lack a /* @__PURE__ */ mark (`poly1305 = wrapConstructorWithKey(...)` and the
  // `_poly1305_aead(...)` arguments of the AEAD exports), so esbuild keeps Poly1305, the AEADs and
  // their utilities: 11.5 KB for a 2 KB function. Marking those calls pure lets tree shaking drop
  // them (the package says "sideEffects": false). If a new version moves them, nothing breaks:
  // the bundle only grows, and test/bundle/bundle.test.ts's size guard says so.
  const noblePure = {
    name: 'noble-pure',
    setup(b) {
      b.onLoad({ filter: /@noble[\\/]ciphers[\\/]esm[\\/](_poly1305|chacha)\.js$/ }, async (a) => {
        const text = await readFile(a.path, 'utf8')
        return { contents: text.replace(/= wrapConstructorWithKey\(/g, '= /* @__PURE__ */ wrapConstructorWithKey(').replace(/, _poly1305_aead\(/g, ', /* @__PURE__ */ _poly1305_aead('), loader: 'js' }
      })
    },
  }
  return { pureJsCbor, mqttUnused, noblePure }
}
