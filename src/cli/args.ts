/**
 * Command-line parsing for `dsn`, hand-rolled to stay dependency-free and to read negative
 * numbers as values (`dsn set offset -2.5`), which util.parseArgs would take for options.
 */
export interface FlagSpec {
  type: 'boolean' | 'string'
  short?: string
  /** Placeholder shown in help for a string flag, e.g. FILE. */
  value?: string
  help: string
}

export type FlagSpecs = Record<string, FlagSpec>
export type Flags = Record<string, string | boolean | undefined>

export interface ParsedArgs {
  flags: Flags
  positionals: string[]
}

/** Wrong use of the command line: exit status 2, with a pointer to --help. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

// A lone "-", and "-5" or "-.5", are values, not options.
const VALUE_LIKE = /^-$|^-\.?\d/

/**
 * Parses argv against specs. With stopAtPositional, stops at the first positional and returns
 * it and everything after in `rest` (used to find the command after global options).
 */
export function parseArgs(argv: readonly string[], specs: FlagSpecs, stopAtPositional = false): ParsedArgs & { rest: string[] } {
  const flags: Flags = {}
  const positionals: string[] = []
  const byShort = new Map(Object.entries(specs).flatMap(([name, s]) => (s.short ? [[s.short, name] as const] : [])))
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]
    if (token === '--') {
      if (stopAtPositional) return { flags, positionals, rest: argv.slice(i) }
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (!token.startsWith('-') || VALUE_LIKE.test(token)) {
      if (stopAtPositional) return { flags, positionals, rest: argv.slice(i) }
      positionals.push(token)
      continue
    }
    let name: string | undefined
    let inline: string | undefined
    if (token.startsWith('--')) {
      const eq = token.indexOf('=')
      name = eq === -1 ? token.slice(2) : token.slice(2, eq)
      inline = eq === -1 ? undefined : token.slice(eq + 1)
      if (!(name in specs)) {
        if (stopAtPositional) return { flags, positionals, rest: argv.slice(i) }
        throw new UsageError(`unknown option --${name}`)
      }
    } else {
      name = token.length === 2 ? byShort.get(token[1]) : undefined
      if (name === undefined) {
        if (stopAtPositional) return { flags, positionals, rest: argv.slice(i) }
        throw new UsageError(`unknown option ${token}`)
      }
    }
    const spec = specs[name]
    if (spec.type === 'boolean') {
      if (inline === undefined || inline === 'true') flags[name] = true
      else if (inline === 'false') flags[name] = false
      else throw new UsageError(`option --${name} takes no value (got ${JSON.stringify(inline)})`)
      continue
    }
    if (inline !== undefined) {
      flags[name] = inline
      continue
    }
    const next = argv[i + 1]
    if (next === undefined || (next.startsWith('-') && !VALUE_LIKE.test(next) && next !== '--')) {
      throw new UsageError(`option --${name} needs a value${spec.value ? ` (${spec.value})` : ''}`)
    }
    flags[name] = next
    i++
  }
  return { flags, positionals, rest: [] }
}

/** Help lines for a set of flags, aligned. */
export function describeFlags(specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const short = s.short ? `-${s.short}, ` : '    '
    const value = s.type === 'string' ? ` ${s.value ?? 'VALUE'}` : ''
    return [`  ${short}--${name}${value}`, s.help]
  })
  const width = Math.max(0, ...rows.map(([left]) => left.length))
  return rows.map(([left, help]) => `${left.padEnd(width)}  ${help}`).join('\n')
}
