import type { JsonValue } from '../../daemon/json-values'
import type { NodeStatus, PeerStatus } from '../../node/events'
import type { Command } from '../context'
import { columns } from '../values'
import { withClient } from './client'

export const peers: Command = {
  name: 'peers',
  args: '',
  summary: 'list live nodes, this one included, one id per line',
  details: 'With --json, a JSON array of node ids. Details (addresses, sequence numbers) are in `dsn status`.',
  flags: {},
  minArgs: 0,
  maxArgs: 0,
  async run({ socketPath, json, io }) {
    const ids = (await withClient(socketPath, (c) => c.request({ op: 'peers' }))) as string[]
    io.out(json ? JSON.stringify(ids) + '\n' : ids.map((id) => id + '\n').join(''))
    return 0
  },
}

type StatusResult = NodeStatus & { daemon: Record<string, JsonValue> }

export const status: Command = {
  name: 'status',
  args: '',
  summary: 'this node, its peers and its counters',
  details: 'With --json, the whole status object (see `status()` in the library) plus "daemon" (pid, version, socket, logLevel).',
  flags: {},
  minArgs: 0,
  maxArgs: 0,
  async run({ socketPath, json, io }) {
    const s = (await withClient(socketPath, (c) => c.request({ op: 'status' }))) as unknown as StatusResult
    if (json) {
      io.out(JSON.stringify(s) + '\n')
      return 0
    }
    const mc = s.multicast ? `${s.multicast.group}:${s.multicast.port} on ${s.multicast.interface}` : 'off'
    const rows = [
      ['node', `${s.nodeId} (incarnation ${s.incarnation}, seq ${s.seq}, ${s.keys} keys)`],
      ['cluster', s.cluster],
      ['publicKey', s.publicKey],
      ['unicast', s.unicastAddress],
      ['multicast', mc],
      ['uptime', `${(s.uptimeMs / 1000).toFixed(1)} s`],
      ['daemon', `pid ${s.daemon.pid}, version ${s.daemon.version}, log level ${s.daemon.logLevel}, socket ${s.daemon.socket}`],
      ['peers', String(s.peers.length)],
    ]
    const mqtt = s.daemon.mqtt as Record<string, JsonValue> | undefined
    if (mqtt) rows.push(['mqtt', `${mqtt.connected ? 'connected' : 'not connected'}, ${mqtt.published} published, ${mqtt.pending} pending, ${mqtt.inFlight} in flight, ${mqtt.commands} commands`])
    io.out(columns(rows))
    if (s.peers.length > 0) io.out(columns(s.peers.map(peerRow)))
    const counters = Object.entries(s.counters)
    if (counters.length > 0) io.out('counters\n' + columns(counters.map(([name, n]) => ['  ' + name, String(n)])))
    return 0
  },
}

function peerRow(p: PeerStatus): string[] {
  return ['  ' + p.nodeId, p.address, `${p.keys} keys`, `seq ${p.contiguousSeq}/${p.latestSeq}`, `heard ${(p.lastHeardMsAgo / 1000).toFixed(1)} s ago`]
}
