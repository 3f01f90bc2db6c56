// Small promise wrappers around child processes, shared by the lab files.
import { ChildProcess, spawn } from 'child_process'

export interface RunResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface RunOptions {
  input?: string
  timeoutMs?: number
  env?: NodeJS.ProcessEnv
  cwd?: string
}

/** Run to completion, collecting output; never rejects on a non-zero exit. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: opts.cwd })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs)
    child.on('error', (err) => {
      if (timer) clearTimeout(timer)
      reject(err)
    })
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
    child.stdin.on('error', () => {}) // the child may exit before reading its input
    child.stdin.end(opts.input ?? '')
  })
}

/** Like run, but a failure is an Error naming the command and its stderr. */
export async function runOk(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, { timeoutMs: 20_000, ...opts })
  if (r.code !== 0) {
    const how = r.signal ? `signal ${r.signal}` : `exit ${r.code}`
    throw new Error(`${cmd} ${args.join(' ')} failed (${how}): ${r.stderr.trim() || r.stdout.trim()}`)
  }
  return r.stdout
}

/** Resolves once the child has exited (immediately if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

/** Resolves after the child exits, or after ms, whichever comes first. */
export async function exitedWithin(child: ChildProcess, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))
  const done = exited(child).then(() => true)
  const r = await Promise.race([done, timeout])
  clearTimeout(timer)
  return r
}
