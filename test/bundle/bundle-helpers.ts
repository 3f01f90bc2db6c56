// Shared by the bundle tests: build dist/dsn.cjs into a temp dir, find the Node 18 runtimes,
// run the bundle. Importing it has no side effect (tap loads every file under test/).
import { execFile, execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

export const ROOT = path.resolve(__dirname, '..', '..')
export const RUNTIME_TOOLS = path.resolve(ROOT, '..', 'shared', 'tools', 'node-runtimes')
export const RUNTIMES_DIR = process.env.NODE_RUNTIMES_DIR ?? '/var/cache/dsn-node-runtimes'

export interface Ran {
  code: number | null
  stdout: string
  stderr: string
}

/** Builds the bundle alone, copies it to a fresh dir with no node_modules above it, returns its path. */
export function buildBundleCopy(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dsn-bundle-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const built = path.join(dir, 'build', 'dsn.cjs')
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs'), '--bundle-only', '--quiet', '--outfile', built], { cwd: ROOT, stdio: 'inherit' })
  const bundle = path.join(dir, 'dsn.cjs')
  copyFileSync(built, bundle)
  return bundle
}

/**
 * Runs a command; never rejects, gives the exit status and output. The command goes through
 * `env -u NODE_OPTIONS`: tap's process-info hook puts an --import into NODE_OPTIONS of every
 * child, which Node 18 cannot load (and which is no part of what a board runs).
 */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile('env', ['-u', 'NODE_OPTIONS', cmd, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: timeoutMs, cwd: os.tmpdir() }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

export type Arch = 'amd64' | 'arm64' | 'armhf'

export function launcher(arch: Arch): string {
  return path.join(RUNTIMES_DIR, 'bin', `node18-${arch}`)
}

/**
 * Makes sure Debian's Node 18 runtimes are in RUNTIMES_DIR (setup-node-runtimes.sh: about 25 s
 * from a warm apt mirror, idempotent). Returns a reason when they cannot be had.
 */
export function ensureRuntimes(arches: Arch[]): string | undefined {
  if (arches.every((a) => existsSync(launcher(a)))) return undefined
  try {
    execFileSync(path.join(RUNTIME_TOOLS, 'setup-node-runtimes.sh'), [RUNTIMES_DIR, ...arches], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 15 * 60_000 })
  } catch (err) {
    return `setup-node-runtimes.sh ${RUNTIMES_DIR} failed: ${(err as Error).message}`
  }
  const missing = arches.filter((a) => !existsSync(launcher(a)))
  return missing.length > 0 ? `no node18 runtime for ${missing.join(', ')} in ${RUNTIMES_DIR}` : undefined
}
