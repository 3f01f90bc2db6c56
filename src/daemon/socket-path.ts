import { promises as fs } from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'

/** Where the daemon listens and the client commands connect, unless --socket or DSN_SOCKET say otherwise. */
export const DEFAULT_SOCKET = '/run/dsn/dsn.sock'

// sockaddr_un.sun_path is 108 bytes on Linux, one of them the terminating NUL.
const MAX_SOCKET_PATH_BYTES = 107

/** Why a socket path cannot be used by a new daemon; `code` picks the exit status. */
export class SocketPathError extends Error {
  constructor(
    readonly code: 'in-use' | 'unusable',
    message: string,
  ) {
    super(message)
    this.name = 'SocketPathError'
  }
}

export function socketPathFrom(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const fromEnv = env.DSN_SOCKET?.trim()
  return path.resolve(flag ?? (fromEnv ? fromEnv : DEFAULT_SOCKET))
}

/** True when something accepts a connection on the socket path within timeoutMs. */
export function socketAnswers(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath)
    const done = (answered: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(answered)
    }
    // A wedged daemon that accepts nothing for a second counts as alive: better to refuse
    // to start than to unlink the socket of a process that still runs.
    const timer = setTimeout(() => done(true), timeoutMs)
    socket.once('connect', () => done(true))
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'EACCES' || err.code === 'EPERM'))
  })
}

/**
 * Makes the socket path ready for listen(): creates its directory (0750: the daemon's group may
 * reach the socket, other users may not), and removes a stale socket left by a crash, but only
 * when nothing answers on it. Refuses when another daemon answers or the path is not a socket.
 */
export async function claimSocketPath(socketPath: string): Promise<'free' | 'stale-removed'> {
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new SocketPathError('unusable', `socket path ${socketPath} is longer than ${MAX_SOCKET_PATH_BYTES} bytes; choose a shorter --socket`)
  }
  const dir = path.dirname(socketPath)
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o750 })
  } catch (err) {
    throw new SocketPathError('unusable', `cannot create the socket directory ${dir}: ${describe(err)}; choose another with --socket or DSN_SOCKET`)
  }
  let stat
  try {
    stat = await fs.lstat(socketPath)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'free'
    throw new SocketPathError('unusable', `cannot inspect ${socketPath}: ${describe(err)}`)
  }
  if (!stat.isSocket()) {
    throw new SocketPathError('unusable', `${socketPath} exists and is not a socket; refusing to replace it`)
  }
  if (await socketAnswers(socketPath)) {
    throw new SocketPathError('in-use', `another dsn daemon is answering on ${socketPath}; stop it first, or give this one its own --socket`)
  }
  try {
    await fs.unlink(socketPath)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new SocketPathError('unusable', `cannot remove the stale socket ${socketPath}: ${describe(err)}`)
    }
  }
  return 'stale-removed'
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  return e.code ?? e.message ?? String(err)
}
