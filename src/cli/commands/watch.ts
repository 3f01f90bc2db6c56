import { DaemonUnreachable } from '../../daemon/control-client'
import type { WatchEvent } from '../../daemon/protocol'
import type { Command } from '../context'
import { withClient } from './client'

export const watch: Command = {
  name: 'watch',
  args: '',
  summary: 'one JSON line per change, until interrupted',
  details: [
    'Prints every event as one JSON line (the output is JSON with or without --json):',
    '  {"event":"update","nodeId":"hall","key":"temperature","value":21.5,"deleted":false}',
    '  {"event":"peer-up","nodeId":"hall","incarnation":1733000000123,"address":"10.0.0.2:41234"}',
    '  {"event":"peer-down","nodeId":"hall","incarnation":1733000000123,"reason":"goodbye"}',
    '  {"event":"message","from":"hall","data":...}',
    'Exits with status 3 when the daemon stops. Example (a monitoring loop):',
    '  dsn watch --key temperature | while read -r line; do echo "$line" | jq .value; done',
  ].join('\n'),
  flags: {
    node: { type: 'string', value: 'NODE', help: 'only events about this node' },
    key: { type: 'string', value: 'KEY', help: 'only updates of this key (peer events are left out)' },
  },
  minArgs: 0,
  maxArgs: 0,
  async run({ flags, socketPath, io }) {
    const node = typeof flags.node === 'string' ? flags.node : undefined
    const key = typeof flags.key === 'string' ? flags.key : undefined
    let stopping = false
    await withClient(socketPath, (c) =>
      c.watch((event) => {
        if (event.event === 'stopping') stopping = true
        else if (matches(event, node, key)) io.out(JSON.stringify(event) + '\n')
      }),
    )
    throw new DaemonUnreachable('closed', stopping ? `the daemon on ${socketPath} stopped` : `the daemon on ${socketPath} closed the connection`)
  },
}

export function matches(event: WatchEvent, node: string | undefined, key: string | undefined): boolean {
  if (event.event === 'stopping') return false
  const about = event.event === 'message' ? event.from : event.nodeId
  if (node !== undefined && about !== node) return false
  if (key !== undefined) return event.event === 'update' && event.key === key
  return true
}
