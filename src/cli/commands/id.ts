import { ControlClient, DaemonUnreachable } from '../../daemon/control-client'
import { loadIdentitySettings } from '../../daemon/run-config'
import type { Command } from '../context'
import { columns } from '../values'

export const id: Command = {
  name: 'id',
  args: '',
  summary: "print this node's id and public key",
  details: [
    'Asks the running daemon; when none answers (or with --config), reads the identity from the',
    'credential dir that `dsn run` would use (config file and environment as for run, no key',
    'needed), creating it if it does not exist yet. The public key is what allowedKeys lists.',
  ].join('\n'),
  flags: {
    config: { type: 'string', short: 'c', value: 'FILE', help: 'JSON config file, as for run (default: DSN_CONFIG); skips the daemon' },
  },
  minArgs: 0,
  maxArgs: 0,
  async run({ io, deps, flags, socketPath, json }) {
    const configFlag = typeof flags.config === 'string' ? flags.config : undefined
    let found: { nodeId: string; publicKey: string; source: string } | undefined
    if (configFlag === undefined) {
      try {
        const client = await ControlClient.connect(socketPath, 1000)
        try {
          const result = (await client.request({ op: 'ping' })) as { nodeId: string; publicKey: string }
          found = { nodeId: result.nodeId, publicKey: result.publicKey, source: `daemon on ${socketPath}` }
        } finally {
          client.close()
        }
      } catch (err) {
        if (!(err instanceof DaemonUnreachable && err.code === 'not-running')) throw err
      }
    }
    if (!found) {
      const { nodeId, credentialDir } = loadIdentitySettings({ config: configFlag }, io.env)
      const identity = deps.loadIdentity(credentialDir)
      found = { nodeId, publicKey: identity.publicKeyHex, source: credentialDir }
    }
    io.out(json ? JSON.stringify(found) + '\n' : columns([['nodeId', found.nodeId], ['publicKey', found.publicKey], ['from', found.source]]))
    return 0
  },
}
