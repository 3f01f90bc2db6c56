import { DEFAULT_SOCKET, socketPathFrom } from '../daemon/socket-path'
import { describeFlags, parseArgs, UsageError, type FlagSpecs } from './args'
import { id } from './commands/id'
import { peers, status } from './commands/info'
import { keygen } from './commands/keygen'
import { run } from './commands/run'
import { del, get, set } from './commands/state'
import { watch } from './commands/watch'
import type { CliDeps, CliIo, Command } from './context'
import { EXIT, exitCodeFor, exitTableText } from './exit-codes'
import { realLoadIdentity, realStartNode } from './start-node'
import { version } from './version'

export const COMMANDS: readonly Command[] = [keygen, id, run, set, get, del, peers, status, watch]

/** Options every command takes, before or after the command name. */
export const GLOBAL_FLAGS: FlagSpecs = {
  socket: { type: 'string', value: 'PATH', help: `control socket (default: DSN_SOCKET, else ${DEFAULT_SOCKET})` },
  json: { type: 'boolean', help: 'JSON output' },
  help: { type: 'boolean', short: 'h', help: 'show help' },
  version: { type: 'boolean', short: 'V', help: 'print the version' },
}

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => `${c.name} ${c.args}`.length))
  return [
    'dsn: shared key-value state for the nodes of a LAN (distributed-state-network)',
    '',
    'Usage: dsn [options] <command> [arguments]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${`${c.name} ${c.args}`.padEnd(width)}  ${c.summary}`),
    '',
    'Options (every command):',
    describeFlags(GLOBAL_FLAGS),
    '',
    'Exit status:',
    exitTableText(),
    '',
    '`dsn <command> --help` for more. Example:',
    '  dsn set temperature 21.5; dsn get kitchen temperature; dsn watch',
    '',
  ].join('\n')
}

export function commandHelp(c: Command): string {
  const flags = { ...c.flags, ...GLOBAL_FLAGS }
  return [`Usage: dsn ${c.name}${c.args ? ' ' + c.args : ''} [options]`, '', `${c.summary[0].toUpperCase()}${c.summary.slice(1)}.`, '', c.details, '', 'Options:', describeFlags(flags), ''].join('\n')
}

export const REAL_DEPS: CliDeps = { startNode: realStartNode, loadIdentity: realLoadIdentity, handleSignals: true, version: version() }

/** Runs one `dsn` invocation; resolves with the exit status (for `run`: once the daemon stops). */
export async function main(argv: readonly string[], io: CliIo, deps: CliDeps = REAL_DEPS): Promise<number> {
  let commandName = ''
  try {
    const global = parseArgs(argv, GLOBAL_FLAGS, true)
    const [name, ...rest] = global.rest[0] === '--' ? global.rest.slice(1) : global.rest
    if (global.flags.version && name === undefined) {
      io.out(deps.version + '\n')
      return EXIT.OK
    }
    if (name === undefined || (name === 'help' && rest.length === 0)) {
      if (global.flags.help || name === 'help') {
        io.out(usage())
        return EXIT.OK
      }
      io.err(usage())
      return EXIT.USAGE
    }
    if (name.startsWith('-')) throw new UsageError(`unknown option ${name}`)
    const helpFor = name === 'help' ? rest[0] : undefined
    const command = COMMANDS.find((c) => c.name === (helpFor ?? name))
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(helpFor ?? name)} (commands: ${COMMANDS.map((c) => c.name).join(', ')})`)
    commandName = command.name
    if (helpFor !== undefined) {
      io.out(commandHelp(command))
      return EXIT.OK
    }
    const local = parseArgs(rest, { ...command.flags, ...GLOBAL_FLAGS })
    const flags = { ...global.flags, ...local.flags }
    if (flags.help) {
      io.out(commandHelp(command))
      return EXIT.OK
    }
    const { positionals } = local
    if (positionals.length < command.minArgs || positionals.length > command.maxArgs) {
      const wanted = command.args || 'no arguments'
      throw new UsageError(`expects ${wanted}, got ${positionals.length === 0 ? 'none' : positionals.map((p) => JSON.stringify(p)).join(' ')}`)
    }
    const socketPath = socketPathFrom(typeof flags.socket === 'string' ? flags.socket : undefined, io.env)
    return await command.run({ io, deps, flags, positionals, socketPath, json: flags.json === true })
  } catch (err) {
    const prefix = commandName ? `dsn ${commandName}` : 'dsn'
    const message = err instanceof Error ? err.message : String(err)
    const hint = err instanceof UsageError ? ` (see \`${prefix} --help\`)` : ''
    io.err(`${prefix}: ${message}${hint}\n`)
    return exitCodeFor(err)
  }
}

/** The `dsn` process: real stdout/stderr/env, exit with main's status. */
export function runCli(deps: CliDeps = REAL_DEPS): void {
  let stdoutOpen = true
  let stderrOpen = true
  let keepServing: (() => void) | undefined
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' && keepServing && stdoutOpen) {
      // `dsn run | head -c 300`: a reader that went away is no reason to drop off the mesh
      // (Restart=on-failure would not even bring us back): log to stderr from now on.
      stdoutOpen = false
      keepServing()
      return
    }
    if (!stdoutOpen) return
    // `dsn watch | head -1`: a closed pipe ends the command quietly, as for any Unix filter.
    process.exit(err.code === 'EPIPE' ? 0 : EXIT.ERROR)
  })
  // With stderr closed too, the daemon logs nowhere but keeps serving.
  process.stderr.on('error', () => (stderrOpen = false))
  const err = (text: string): void => void (stderrOpen && process.stderr.write(text))
  const io: CliIo = {
    out: (text) => (stdoutOpen ? void process.stdout.write(text) : err(text)),
    err,
    env: process.env,
    onStdoutClosed: (handler) => (keepServing = handler),
  }
  void main(process.argv.slice(2), io, deps).then((code) => {
    // The status is final here, whatever handles (timers, sockets) are left; stdout on Linux
    // pipes, files and terminals is written synchronously, so nothing is lost.
    process.exit(code)
  })
}
