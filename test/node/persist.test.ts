// The own-state file on its own (no socket): round trip, atomic replace, and every way a file
// can be bad (torn at any length, a flipped byte, another node's, unknown format) set aside.
import t from 'tap'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { decodeStateFile, encodeStateFile, loadState, saveState } from '../../src/node/persist'
import { cbor } from '../../src/wire/frame'

function dir(t: { teardown(fn: () => void): void }): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'dsn-persist-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

const entries = [
  { key: 'temperature', bytes: cbor.encode(21.5) },
  { key: 'blob', bytes: cbor.encode(new Uint8Array([0, 1, 255])) },
  { key: 'config', bytes: cbor.encode({ fan: true, rpm: [1, 2] }) },
]

const plain = (list: { key: string; bytes: Uint8Array }[]) => list.map((e) => [e.key, Buffer.from(e.bytes).toString('hex')])

t.test('save then load gives the same entries, bytes for bytes; no temp file is left', async (t) => {
  const d = dir(t)
  const file = path.join(d, 'sub', 'state.cbor')
  const size = saveState(file, 'kitchen', entries)
  t.equal(size, readFileSync(file).length)
  const loaded = loadState(file, 'kitchen')
  t.equal(loaded.status, 'loaded')
  if (loaded.status === 'loaded') t.same(plain(loaded.entries), plain(entries))
  saveState(file, 'kitchen', entries.slice(1))
  const again = loadState(file, 'kitchen')
  if (again.status === 'loaded') t.same(plain(again.entries), plain(entries.slice(1)), 'replaced, not appended')
  t.same(readdirSync(path.dirname(file)), ['state.cbor'])
})

t.test('no file: nothing to restore', async (t) => {
  t.same(loadState(path.join(dir(t), 'state.cbor'), 'kitchen'), { status: 'none' })
})

t.test('a file torn at any length is refused', async (t) => {
  const whole = encodeStateFile('kitchen', entries)
  for (let n = 0; n < whole.length; n++) {
    const why = decodeStateFile(whole.subarray(0, n))
    if (typeof why !== 'string') t.fail(`a file torn at ${n} of ${whole.length} bytes was accepted`)
  }
  t.pass(`every one of ${whole.length} truncations refused`)
})

t.test('a flipped byte anywhere is refused', async (t) => {
  const whole = encodeStateFile('kitchen', entries)
  for (let i = 0; i < whole.length; i++) {
    const bad = Buffer.from(whole)
    bad[i] ^= 0x40
    if (typeof decodeStateFile(bad) !== 'string') t.fail(`a flip at byte ${i} was accepted`)
  }
  t.pass(`every one of ${whole.length} flips refused`)
})

t.test('bad files are set aside with the reason, never thrown', async (t) => {
  const d = dir(t)
  const file = path.join(d, 'state.cbor')
  const cases: [string, Buffer, RegExp][] = [
    ['garbage', Buffer.from('hello world'), /not a dsn state file/],
    ['torn', encodeStateFile('kitchen', entries).subarray(0, 40), /checksum mismatch \(torn or corrupt file\)/],
    ['future format', Buffer.concat([Buffer.from('DSNSTATE'), Buffer.of(9), Buffer.alloc(20)]), /format 9 is not known/],
    ["another node's", encodeStateFile('hall', entries), /holds node "hall"'s state, not "kitchen"'s/],
  ]
  for (const [name, data, says] of cases) {
    writeFileSync(file, data)
    const result = loadState(file, 'kitchen', 1234)
    t.match(result, { status: 'set-aside', reason: says, setAside: `${file}.bad-1234` }, name)
    t.notOk(existsSync(file), `${name}: moved out of the way`)
    t.same(readFileSync(`${file}.bad-1234`), data, `${name}: kept as it was`)
    rmSync(`${file}.bad-1234`)
  }
})

t.test('a large state file does not grow the shared encoder that values are views of', async (t) => {
  const entries = Array.from({ length: 64 }, (_, i) => ({ key: `k${i}`, bytes: cbor.encode('x'.repeat(16 * 1024)) }))
  const file = encodeStateFile('node', entries)
  t.ok(file.length > 1 << 20, `a ${file.length} B state file`)
  // A few more encodes: a value set afterwards comes from whatever block is current then.
  for (let i = 0; i < 64; i++) cbor.encode('y'.repeat(1024))
  const value = cbor.encode('after')
  t.ok(value.buffer.byteLength < 1 << 20, `a value set afterwards pins a block of ${value.buffer.byteLength} B, not ~4x the state`)
  // Last, since it grows the shared buffer itself: what the file would have held before.
  const whole = cbor.encode(['node', entries.map((e) => [e.key, e.bytes])])
  t.equal(Buffer.compare(file.subarray(file.length - whole.length), whole), 0, 'the same payload as one encode of the whole: the file format is unchanged')
})
