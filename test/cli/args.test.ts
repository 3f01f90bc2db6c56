import t from 'tap'
import { describeFlags, parseArgs, UsageError, type FlagSpecs } from '../../src/cli/args'

const specs: FlagSpecs = {
  json: { type: 'boolean', help: 'JSON output' },
  socket: { type: 'string', value: 'PATH', help: 'socket' },
  config: { type: 'string', short: 'c', value: 'FILE', help: 'config' },
  help: { type: 'boolean', short: 'h', help: 'help' },
}

t.test('flags and positionals in any order', async (t) => {
  t.same(parseArgs(['a', '--json', 'b', '--socket', '/x.sock'], specs), { flags: { json: true, socket: '/x.sock' }, positionals: ['a', 'b'], rest: [] })
  t.same(parseArgs(['--socket=/y.sock', '-c', 'f.json', '-h'], specs).flags, { socket: '/y.sock', config: 'f.json', help: true })
  t.same(parseArgs(['--json=false'], specs).flags, { json: false })
  t.same(parseArgs(['--socket', 'a', '--socket', 'b'], specs).flags, { socket: 'b' }, 'last one wins')
})

t.test('negative numbers and "-" are values, "--" ends the options', async (t) => {
  t.same(parseArgs(['offset', '-2.5'], specs).positionals, ['offset', '-2.5'])
  t.same(parseArgs(['x', '-.5', '-'], specs).positionals, ['x', '-.5', '-'])
  t.same(parseArgs(['note', '--', '--verbose', '-h'], specs).positionals, ['note', '--verbose', '-h'])
  t.same(parseArgs(['--socket', '-1'], specs).flags, { socket: '-1' })
})

t.test('usage errors name the option', async (t) => {
  t.throws(() => parseArgs(['--nope'], specs), new UsageError('unknown option --nope'))
  t.throws(() => parseArgs(['-x'], specs), new UsageError('unknown option -x'))
  t.throws(() => parseArgs(['--socket'], specs), new UsageError('option --socket needs a value (PATH)'))
  t.throws(() => parseArgs(['--socket', '--json'], specs), new UsageError('option --socket needs a value (PATH)'))
  t.throws(() => parseArgs(['--json=yes'], specs), new UsageError('option --json takes no value (got "yes")'))
})

t.test('stopAtPositional finds the command after global options', async (t) => {
  t.same(parseArgs(['--json', '--socket', 's', 'get', 'n', '--config', 'c'], specs, true), { flags: { json: true, socket: 's' }, positionals: [], rest: ['get', 'n', '--config', 'c'] })
  t.same(parseArgs(['--only-for-command', 'x'], specs, true).rest, ['--only-for-command', 'x'], 'an unknown option is left to the command')
})

t.test('help lines are aligned', async (t) => {
  const text = describeFlags(specs)
  t.match(text, /^ {6}--json {9}JSON output$/m)
  t.match(text, /^ {2}-c, --config FILE {2}config$/m)
})
