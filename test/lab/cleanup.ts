// Last-resort cleanup: a failing or interrupted test must not leave namespaces
// or processes behind. Everything here is synchronous so it can run in 'exit'.
import { execFileSync } from 'child_process'

type Cleanup = () => void

const pending = new Set<Cleanup>()
let installed = false

function runAll(): void {
  for (const fn of [...pending]) {
    pending.delete(fn)
    try {
      fn()
    } catch {
      // best effort: keep cleaning the rest
    }
  }
}

function onSignal(sig: NodeJS.Signals): void {
  runAll()
  // Our listener suppressed the default action; restore it if nobody else handles the signal.
  process.removeListener(sig, onSignal)
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig)
}

function install(): void {
  if (installed) return
  installed = true
  process.on('exit', runAll)
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  process.on('SIGHUP', onSignal)
}

/** Run fn at process exit or on a fatal signal unless the returned function is called first. */
export function registerCleanup(fn: Cleanup): () => void {
  install()
  pending.add(fn)
  return () => {
    pending.delete(fn)
  }
}

/** Names of all named network namespaces (`ip netns list` prints "name (id: N)"). */
export function listNamespacesSync(): string[] {
  let out = ''
  try {
    out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  } catch {
    return []
  }
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0])
    .filter((n): n is string => !!n)
}

export function killNamespacePidsSync(ns: string): void {
  let out = ''
  try {
    out = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  } catch {
    return
  }
  for (const pid of out.split(/\s+/).filter(Boolean).map(Number)) {
    if (pid === process.pid) continue
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
}

/** Kill everything inside ns, then delete it. Deleting a host ns also removes its veth pair. */
export function deleteNamespaceSync(ns: string): void {
  killNamespacePidsSync(ns)
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' })
  } catch {
    // already gone
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** Exactly the namespaces a lab with this prefix creates: `${prefix}h<N>` and `${prefix}br`. */
export function labNamespacePattern(prefix: string): RegExp {
  return new RegExp(`^${escapeRegExp(prefix)}(h\\d+|br)$`)
}

/** Delete leftovers of a crashed run with this lab prefix; returns the names deleted. */
export function cleanupStaleLabs(prefix: string): string[] {
  const pattern = labNamespacePattern(prefix)
  const stale = listNamespacesSync().filter((n) => pattern.test(n))
  for (const ns of stale) deleteNamespaceSync(ns)
  return stale
}
