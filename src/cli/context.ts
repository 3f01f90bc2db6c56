import type { DsnOptions } from '../config'
import type { DsnNodeApi } from '../node/api'
import type { FlagSpecs, Flags } from './args'

/** Where a command writes and what it reads, so tests run commands in-process. */
export interface CliIo {
  out(text: string): void
  err(text: string): void
  env: NodeJS.ProcessEnv
  /** A long-running command (`dsn run`) that keeps going when stdout closes; out() then writes to stderr. */
  onStdoutClosed?: (handler: () => void) => void
  /** Standard input (`dsn set --stdin`); process.stdin when absent. */
  stdin?: NodeJS.ReadableStream
}

export interface Identity {
  publicKeyHex: string
}

/** What the CLI needs from the layers below; `dsn` wires the real ones (start-node.ts), tests fakes. */
export interface CliDeps {
  startNode: (options: DsnOptions) => Promise<DsnNodeApi>
  loadIdentity: (credentialDir: string) => Identity
  /** `dsn run` installs signal handlers (true in the real CLI). */
  handleSignals: boolean
  version: string
}

export interface CommandContext {
  io: CliIo
  deps: CliDeps
  flags: Flags
  positionals: string[]
  /** The control socket: --socket, else DSN_SOCKET, else the default. */
  socketPath: string
  json: boolean
}

export interface Command {
  name: string
  /** Positional arguments as shown in usage, e.g. "KEY VALUE". */
  args: string
  summary: string
  /** Paragraphs after the usage line in `dsn CMD --help`. */
  details: string
  flags: FlagSpecs
  minArgs: number
  maxArgs: number
  run(ctx: CommandContext): Promise<number>
}
