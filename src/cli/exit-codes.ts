import { DsnError } from '../errors'
import { DaemonError, DaemonUnreachable } from '../daemon/control-client'
import { SocketPathError } from '../daemon/socket-path'
import { UsageError } from './args'

/** `dsn` exit statuses: stable, for scripts and systemd (RestartPreventExitStatus=2 4). */
export const EXIT = {
  OK: 0,
  /** Anything else: the daemon refused a request (bad key, value too large...), a runtime failure. */
  ERROR: 1,
  /** Wrong command line. */
  USAGE: 2,
  /** No daemon answers on the control socket (or it went away). */
  NOT_RUNNING: 3,
  /** Bad config, environment or network key; unusable credential dir, interface or socket path. */
  CONFIG: 4,
  /** The UDP port, or the control socket, is held by another process. */
  IN_USE: 5,
  /** `dsn get`: no such node, or no such key. */
  NOT_FOUND: 6,
} as const

export const EXIT_TABLE: readonly [number, string][] = [
  [EXIT.OK, 'success'],
  [EXIT.ERROR, 'runtime error (the daemon refused the request, or something failed)'],
  [EXIT.USAGE, 'usage error'],
  [EXIT.NOT_RUNNING, 'no daemon answers on the control socket'],
  [EXIT.CONFIG, 'bad config, environment or network key'],
  [EXIT.IN_USE, 'port or control socket already in use'],
  [EXIT.NOT_FOUND, 'no such node or key (dsn get)'],
]

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.USAGE
  if (err instanceof DaemonUnreachable) return err.code === 'not-running' || err.code === 'closed' ? EXIT.NOT_RUNNING : EXIT.ERROR
  if (err instanceof SocketPathError) return err.code === 'in-use' ? EXIT.IN_USE : EXIT.CONFIG
  if (err instanceof DaemonError) {
    if (err.code === 'DSN_NOT_FOUND') return EXIT.NOT_FOUND
    if (err.code === 'DSN_BAD_REQUEST') return EXIT.USAGE
    return EXIT.ERROR
  }
  const code = err instanceof DsnError ? err.code : (err as { code?: unknown } | null)?.code
  switch (code) {
    case 'DSN_BAD_CONFIG':
    case 'DSN_IDENTITY':
    case 'DSN_NO_INTERFACE':
      return EXIT.CONFIG
    case 'DSN_PORT_IN_USE':
      return EXIT.IN_USE
    default:
      return EXIT.ERROR
  }
}

export function exitTableText(): string {
  return EXIT_TABLE.map(([code, meaning]) => `  ${code}  ${meaning}`).join('\n')
}
