// Single-host tests: a fresh, anonymous network namespace holding only `lo`,
// with multicast routed over it, so several processes can mesh on 127.0.0.1.
import { ChildProcess, ChildProcessWithoutNullStreams, spawn } from 'child_process'
import { readdirSync, readFileSync } from 'fs'
import { registerCleanup } from './cleanup'
import { exitedWithin } from './run'

export interface LoopbackSpawnOptions {
  env?: NodeJS.ProcessEnv
  cwd?: string
}

const SETUP = [
  'set -e',
  'ip link set lo up',
  'ip link set lo multicast on',
  'ip route add 224.0.0.0/4 dev lo',
  'exec "$@"',
].join('; ')

const cleanups = new WeakMap<ChildProcess, () => void>()

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, 'SIGKILL')
  } catch {
    // group already gone
  }
}

/**
 * Run cmd in a new network namespace (`unshare -n`). The child leads its own
 * process group, so stopLoopbackNamespace() also ends anything it started;
 * with no process left the namespace disappears by itself.
 */
export function runInLoopbackNamespace(
  cmd: string,
  args: string[],
  opts: LoopbackSpawnOptions = {},
): ChildProcessWithoutNullStreams {
  const child = spawn('unshare', ['-n', 'sh', '-c', SETUP, 'sh', cmd, ...args], {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio: 'pipe',
    detached: true,
  })
  // Stays registered after the child exits: its background children may not have.
  cleanups.set(child, registerCleanup(() => killGroup(child)))
  return child
}

/** Live (non-zombie) members of process group pgid; a zombie holds no sockets. */
export function liveGroupMembers(pgid: number): number[] {
  const live: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue // exited while we looked
    }
    // Fields after "(comm)": state ppid pgrp ...
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') live.push(Number(entry))
  }
  return live
}

/**
 * Kill the child's whole process group and wait until none of it runs.
 * Other members are not our children, so there is no exit event to await: poll, bounded.
 */
export async function stopLoopbackNamespace(child: ChildProcess, timeoutMs = 5000): Promise<void> {
  killGroup(child)
  cleanups.get(child)?.()
  const deadline = Date.now() + timeoutMs
  await exitedWithin(child, timeoutMs)
  while (child.pid !== undefined && liveGroupMembers(child.pid).length > 0) {
    if (Date.now() > deadline) throw new Error(`process group ${child.pid} still running ${timeoutMs} ms after SIGKILL`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
