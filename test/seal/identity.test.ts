// The node's Ed25519 identity file (src/seal/identity.ts): created private, stable across
// restarts, and a clear DSN_IDENTITY error naming the file when it is unusable.
import t, { type Test } from 'tap'
import { generateKeyPairSync } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { DsnError } from '../../src/errors'
import { loadOrCreateIdentity } from '../../src/seal/identity'
import { verifierFor } from '../../src/seal/signer'

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'dsn-identity-'))
t.teardown(() => fs.rmSync(base, { recursive: true, force: true }))
let n = 0
const freshDir = (): string => path.join(base, `node-${++n}`, 'credentials')
const mode = (p: string): number => fs.statSync(p).mode & 0o777

/** The DsnError a call throws (the test fails if it throws anything else or nothing). */
function identityError(t: Test, dir: string): DsnError | undefined {
  try {
    loadOrCreateIdentity(dir)
  } catch (err) {
    if (err instanceof DsnError) return err
    t.fail(`not a DsnError: ${String(err)}`)
    return undefined
  }
  t.fail('no error')
  return undefined
}

t.test('created 0600 in a 0700 directory, on first start', async (t) => {
  const dir = freshDir()
  t.notOk(fs.existsSync(dir))
  const id = loadOrCreateIdentity(dir)
  t.equal(id.file, path.join(dir, 'identity.pem'))
  t.equal(mode(dir), 0o700, 'credential dir 0700')
  t.equal(mode(id.file), 0o600, 'key file 0600')
  t.match(fs.readFileSync(id.file, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/, 'PKCS#8 PEM')
  t.match(id.publicKeyHex, /^[0-9a-f]{64}$/)
  t.equal(Buffer.from(id.signer.publicKey).toString('hex'), id.publicKeyHex)
})

t.test('the same key on every reload', async (t) => {
  const dir = freshDir()
  const first = loadOrCreateIdentity(dir)
  const pem = fs.readFileSync(first.file, 'utf8')
  const second = loadOrCreateIdentity(dir)
  t.equal(second.publicKeyHex, first.publicKeyHex)
  t.equal(fs.readFileSync(second.file, 'utf8'), pem, 'the file is not rewritten')
  const message = new TextEncoder().encode('dsn')
  t.ok(verifierFor(first.signer.publicKey)(message, second.signer.sign(message)), 'the reloaded signer signs for the pinned key')
  t.not(loadOrCreateIdentity(freshDir()).publicKeyHex, first.publicKeyHex, 'another dir, another identity')
})

t.test('a key written by another tool (openssl genpkey -algorithm ed25519) is used as is', async (t) => {
  const dir = freshDir()
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  fs.writeFileSync(path.join(dir, 'identity.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 })
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(12)
  t.equal(loadOrCreateIdentity(dir).publicKeyHex, raw.toString('hex'))
})

t.test('an unusable identity file: DSN_IDENTITY naming the path', async (t) => {
  const cases: Array<[string, string | Buffer]> = [
    ['garbage', 'not a key at all\n'],
    ['empty', ''],
    ['truncated PEM', '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n'],
    ['binary junk', Buffer.from([0x30, 0x82, 0xff, 0xff, 0x00])],
    ['an EC P-256 key', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' })],
    ['an Ed448 key', generateKeyPairSync('ed448').privateKey.export({ format: 'pem', type: 'pkcs8' })],
    ['a public key', generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' })],
  ]
  for (const [name, content] of cases) {
    const dir = freshDir()
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
    const file = path.join(dir, 'identity.pem')
    fs.writeFileSync(file, content, { mode: 0o600 })
    const err = identityError(t, dir)
    t.equal(err?.code, 'DSN_IDENTITY', `${name}: code`)
    t.ok(err?.message.includes(file), `${name}: the message names ${file}`)
    t.equal(fs.readFileSync(file).toString('hex'), Buffer.from(content).toString('hex'), `${name}: the file is left alone, never replaced`)
  }
})

t.test('an unusable credential dir: DSN_IDENTITY naming the path', async (t) => {
  const file = path.join(base, 'a-file')
  fs.writeFileSync(file, 'x')
  const err = identityError(t, file)
  t.equal(err?.code, 'DSN_IDENTITY')
  t.ok(err?.message.includes(file), String(err?.message))
  const below = path.join(file, 'sub')
  const err2 = identityError(t, below)
  t.equal(err2?.code, 'DSN_IDENTITY')
  t.ok(err2?.message.includes(below), String(err2?.message))
  if (process.getuid?.() === 0) return // root writes anywhere: the permission case cannot be shown
  const locked = path.join(base, 'locked')
  fs.mkdirSync(locked, { mode: 0o500 })
  const err3 = identityError(t, path.join(locked, 'credentials'))
  t.equal(err3?.code, 'DSN_IDENTITY')
  t.ok(err3?.message.includes(path.join(locked, 'credentials')))
})

// Known src bug (reported, not fixed here): identity.ts checks only the DER length, and an
// X25519 PKCS#8 key has the same length as an Ed25519 one, so its bytes are taken as a seed.
t.test('an X25519 key file is refused', async (t) => {
  const dir = freshDir()
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  fs.writeFileSync(path.join(dir, 'identity.pem'), generateKeyPairSync('x25519').privateKey.export({ format: 'pem', type: 'pkcs8' }))
  t.throws(() => loadOrCreateIdentity(dir), { code: 'DSN_IDENTITY' })
})
