// The one config type (src/config.ts): every field's error names the field and what is allowed,
// the defaults are the documented ones, and the network key never appears in an error.
import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import * as path from 'node:path'
import { defaultConfig, resolveConfig, type DsnConfig } from '../../src/config'
import { DsnError } from '../../src/errors'

const KEY = 'c0ffee'.repeat(10) + 'c0de'
const NEAR_MISS = 'c0ffee'.repeat(10) + 'c0dz' // one character off: must not leak into a log
const base = { nodeId: 'n1', networkKey: KEY }

/** The DSN_BAD_CONFIG message for these options (fails the test on anything else). */
function message(t: Test, options: unknown): string {
  try {
    resolveConfig(options)
  } catch (err) {
    if (!(err instanceof DsnError)) throw err
    t.equal(err.code, 'DSN_BAD_CONFIG')
    return err.message
  }
  t.fail(`accepted ${JSON.stringify(options)}`)
  return ''
}

type Field = keyof DsnConfig
/** For each field: values refused, what the message must say, and values accepted at the edges. */
const table: Record<Field, { bad: unknown[]; says: RegExp; good: unknown[]; name?: RegExp }> = {
  nodeId: { bad: ['', 'a b', 'x'.repeat(65), 5, 'é', null], says: /must be 1-64 characters of A-Z a-z 0-9 _ \. -/, good: ['a', 'x'.repeat(64), 'A-z_0.9'] },
  networkKey: { bad: [undefined, '', 'abc', NEAR_MISS, KEY + '0', 42, null], says: /required: 64 hex characters \(256 bits\)/, good: [KEY.toUpperCase()] },
  acceptedNetworkKeys: { bad: ['x', [NEAR_MISS], [KEY, 7], null], says: /64 hex characters each/, good: [[], [KEY, '00'.repeat(32)]], name: /acceptedNetworkKeys(\[\d\])?:/ },
  cluster: { bad: ['', 'a b', 'x'.repeat(65), 1, null], says: /must be 1-64 characters of A-Z a-z 0-9 _ \. -/, good: ['lab', 'x'.repeat(64)] },
  port: { bad: [0, 65536, 1.5, '80', -1, null], says: /must be an integer from 1 to 65535/, good: [1, 65535] },
  unicastPort: { bad: [-1, 65536, 0.5, '0'], says: /must be an integer from 0 to 65535/, good: [0, 65535] },
  group: { bad: ['10.0.0.1', '240.0.0.1', '223.255.255.255', '239.1.1', '239.1.1.256', 'x', 5], says: /must be an IPv4 multicast address 224\.0\.0\.0-239\.255\.255\.255/, good: ['224.0.0.1', '239.255.255.255'] },
  interface: { bad: ['', 5, null], says: /must be an interface name or IPv4 address/, good: ['eth0', '10.0.0.1'] },
  staticPeers: { bad: ['10.0.0.1:5', ['nohost'], ['h:0'], ['h:70000'], [5], [':5']], says: /"host:port" each, port 1-65535/, good: [[], ['10.0.0.2:47474', 'board.local:1', '[::1]:5']], name: /staticPeers(\[\d\])?:/ },
  multicast: { bad: ['yes', 1, null], says: /must be true or false/, good: [true, false] },
  mdns: { bad: ['no', 0], says: /must be true or false/, good: [true, false] },
  credentialDir: { bad: ['', 5, null], says: /must be a directory path/, good: ['/var/lib/dsn', 'rel'] },
  allowedKeys: { bad: ['ab'.repeat(32), ['abc'], [KEY, 1]], says: /hex Ed25519 public keys, 64 characters each/, good: [[], [KEY]], name: /allowedKeys(\[\d\])?:/ },
  heartbeatIntervalMs: { bad: [49, 60_001, 100.5, '1000'], says: /must be an integer from 50 to 60000/, good: [50, 1000] },
  peerTimeoutMs: { bad: [99, 600_001, 2000.5, null], says: /must be an integer from 100 to 600000/, good: [1500, 600_000] },
  historySize: { bad: [15, 1_000_001, 1.5], says: /must be an integer from 16 to 1000000/, good: [16, 1_000_000] },
  mtu: { bad: [575, 65_001, '1400'], says: /must be an integer from 576 to 65000/, good: [576, 65_000] },
  maxValueBytes: { bad: [0, 16 * 1024 * 1024 + 1], says: /must be an integer from 1 to 16777216/, good: [1, 16 * 1024 * 1024] },
  maxKeyBytes: { bad: [0, 1025], says: /must be an integer from 1 to 1024/, good: [1, 1024] },
  maxKeysPerNode: { bad: [0, 1_000_001], says: /must be an integer from 1 to 1000000/, good: [1, 1_000_000] },
  maxStateBytes: { bad: [1023, 1024 ** 3 + 1], says: /must be an integer from 1024 to 1073741824/, good: [1024, 1024 ** 3] },
  maxPeers: { bad: [0, 100_001, NaN], says: /must be an integer from 1 to 100000/, good: [1, 100_000] },
  maxUnicastPeers: { bad: [-1, 100_001, 1.5], says: /must be an integer from 0 to 100000/, good: [0, 64] },
  sendTimeoutMs: { bad: [9, 600_001, Infinity], says: /must be an integer from 10 to 600000/, good: [10, 600_000] },
  persistPath: { bad: ['', 5, null], says: /must be a file path, or absent to keep no state file/, good: [undefined, '/var/lib/dsn/state.cbor'] },
  persistIntervalMs: { bad: [9, 3_600_001, 1.5], says: /must be an integer from 10 to 3600000/, good: [10, 3_600_000] },
}

t.test('the table covers every field of the config', async (t) => {
  t.same(Object.keys(table).sort(), [...Object.keys(defaultConfig('n1')), 'networkKey'].sort())
})

t.test('every field: refusals name the field and what is allowed', async (t) => {
  for (const [field, row] of Object.entries(table) as Array<[Field, (typeof table)[Field]]>) {
    for (const value of row.bad) {
      const options = { ...base, [field]: value }
      if (value === undefined) delete (options as Record<string, unknown>)[field]
      const text = message(t, options)
      t.match(text, row.name ?? new RegExp(`^config\\.${field}: `), `${field} = ${String(value)}: names the field`)
      t.match(text, row.says, `${field} = ${String(value)}: says what is allowed`)
      t.notOk(text.includes(KEY) || text.includes(NEAR_MISS), `${field}: no network key in the message`)
    }
    for (const value of row.good) {
      const options = { ...base, [field]: value }
      t.doesNotThrow(() => resolveConfig(options), `${field} = ${JSON.stringify(value)} is accepted`)
    }
  }
})

t.test('cross-field, unknown and root errors', async (t) => {
  const slow = message(t, { ...base, heartbeatIntervalMs: 2000, peerTimeoutMs: 2999 })
  t.match(slow, /^config\.peerTimeoutMs: must be at least 1\.5 x heartbeatIntervalMs \(3000\)/)
  t.doesNotThrow(() => resolveConfig({ ...base, heartbeatIntervalMs: 2000, peerTimeoutMs: 3000 }))
  const unknown = message(t, { ...base, heartbeatMs: 5, networkkey: NEAR_MISS })
  t.match(unknown, /^config\.heartbeatMs: unknown field \(known: .*heartbeatIntervalMs.*\)/)
  const typo = message(t, { ...base, networkkey: NEAR_MISS })
  t.match(typo, /^config\.networkkey: unknown field/, 'a misspelt key field...')
  t.notOk(typo.includes(NEAR_MISS), '...does not echo the key it was given')
  for (const root of [null, 5, 'x', [base]]) t.match(message(t, root), /^config\.\(root\): expected an object of options/)
  t.doesNotThrow(() => resolveConfig({ ...base, port: undefined }), 'undefined means "use the default"')
})

t.test('the network key is never echoed', async (t) => {
  // Every message the table produces was checked above; also the values other fields would echo.
  for (const field of ['nodeId', 'cluster', 'group', 'credentialDir'] as const) {
    const text = message(t, { ...base, networkKey: NEAR_MISS, [field]: 5 })
    t.notOk(text.includes(NEAR_MISS), `networkKey checked before ${field}, or not echoed`)
  }
  t.notOk(message(t, { ...base, acceptedNetworkKeys: [KEY, NEAR_MISS] }).includes('c0ffee'), 'accepted keys are secret too')
  t.notOk(message(t, { ...base, acceptedNetworkKeys: NEAR_MISS }).includes('c0ffee'))
})

t.test('defaults: the documented values', async (t) => {
  const config = resolveConfig({ networkKey: KEY, nodeId: 'n1' })
  const defaults = defaultConfig('n1')
  t.same({ ...config, networkKey: undefined }, { ...defaults, networkKey: undefined }, 'resolveConfig fills exactly defaultConfig()')
  t.match(defaults, {
    acceptedNetworkKeys: [], cluster: 'default', port: 47474, group: '239.255.74.74', interface: undefined, unicastPort: 0,
    staticPeers: [], multicast: true, mdns: true, allowedKeys: [], heartbeatIntervalMs: 1000, peerTimeoutMs: 2000,
    historySize: 1024, mtu: 1400, maxValueBytes: 65536, maxKeyBytes: 128, maxKeysPerNode: 4096, maxStateBytes: 4194304,
    maxPeers: 256, maxUnicastPeers: 64, sendTimeoutMs: 2000,
  })
  t.match(defaults.credentialDir, /\.dsn[/\\]n1$/, 'credentialDir: ~/.dsn/<nodeId>')
  t.match(resolveConfig({ networkKey: KEY }).nodeId, /^[A-Za-z0-9_.-]{1,64}$/, 'nodeId defaults to a cleaned host name')
  t.doesNotThrow(() => resolveConfig({ ...defaults, networkKey: KEY }), 'the defaults pass their own validation')
})

t.test('every field is documented next to its type, and in docs/PROTOCOL.md', async (t) => {
  const source = readFileSync(path.join(__dirname, '../../src/config.ts'), 'utf8')
  const doc = readFileSync(path.join(__dirname, '../../docs/PROTOCOL.md'), 'utf8')
  for (const field of Object.keys(table)) {
    t.match(source, new RegExp(`/\\*\\*[^]*?\\*/\\n  ${field}: `), `${field}: a doc comment in DsnConfig`)
    t.match(doc, new RegExp(`^\\| \`${field}\` \\|`, 'm'), `${field}: a row in the PROTOCOL.md config table`)
  }
  const defaults = defaultConfig('n1') as Record<string, unknown>
  for (const [field, value] of Object.entries(defaults)) {
    if (typeof value !== 'number') continue
    const row = new RegExp(`^\\| \`${field}\` \\| ${value} `, 'm')
    t.match(doc, row, `${field}: PROTOCOL.md says the default is ${value}`)
  }
})
