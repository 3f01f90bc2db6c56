import { generateKey } from '../../node/generate-key'
import type { Command } from '../context'

export const keygen: Command = {
  name: 'keygen',
  args: '',
  summary: 'print a new network key (64 hex characters)',
  details: [
    'Prints a fresh random 256-bit network key (the library\'s generateKey()). Every node of a',
    'cluster needs the same key; keep it out of shell history and world-readable files, e.g.:',
    '  umask 077; dsn keygen > /etc/dsn/network.key',
    'and point DSN_NETWORK_KEY_FILE (or networkKeyFile in the config file) at it.',
  ].join('\n'),
  flags: {},
  minArgs: 0,
  maxArgs: 0,
  async run({ io, json }) {
    const key = generateKey()
    io.out(json ? JSON.stringify({ networkKey: key }) + '\n' : key + '\n')
    return 0
  },
}
