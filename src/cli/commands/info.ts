import type { JsonValue } from '../../daemon/json-values'
import type { NodeStatus, PeerStatus } from '../../node/events'
import type { Command } from '../context'
import { columns } from '../values'
import { withClient } from './client'

export const peers: Command = {
  name: 'peers',
  args: '',
  summary: 'list live nodes, this one included, one id per line',
  details: 'With --json, one object per node, this one included: {nodeId, self, address, path, multicastOut, multicastIn, pathChangedMsAgo}. ' +
    'path is how our datagrams reach it: multicast, both (unicast copies too) or unicast; multicastOut is the fraction of our multicast ' +
    'it reports hearing, multicastIn the fraction of its multicast we hear. More (sequence numbers, keys) in `dsn status`.',
  flags: {},
  minArgs: 0,
  maxArgs: 0,
  async run({ socketPath, json, io }) {
    if (!json) {
      const ids = (await withClient(socketPath, (c) => c.request({ op: 'peers' }))) as string[]
      io.out(ids.map((id) => id + '\n').join(''))
      return 0
    }
    const s = (await withClient(socketPath, (c) => c.request({ op: 'status' }))) as unknown as StatusResult
    const self = { nodeId: s.nodeId, self: true, address: s.unicastAddress, path: null, multicastOut: null, multicastIn: null, pathChangedMsAgo: null }
    const others = s.peers.map((p) => ({ nodeId: p.nodeId, self: false, address: p.address, path: p.path, multicastOut: p.multicastOut, multicastIn: p.multicastIn, pathChangedMsAgo: p.pathChangedMsAgo }))
    io.out(JSON.stringify([self, ...others].sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1))) + '\n')
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
    const mc = s.multicast ? `${s.multicast.group}:${s.multicast.port} on ${s.multicast.interface}${s.multicast.loopback ? ', looped back to this host' : ''}` : 'off'
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
  const ratio = (r: number | null) => (r === null ? '-' : `${Math.round(r * 100)}%`)
  return ['  ' + p.nodeId, p.address, `${p.keys} keys`, `seq ${p.contiguousSeq}/${p.latestSeq}`, `heard ${(p.lastHeardMsAgo / 1000).toFixed(1)} s ago`,
    `path ${p.path} (multicast out ${ratio(p.multicastOut)}, in ${ratio(p.multicastIn)}, since ${(p.pathChangedMsAgo / 1000).toFixed(1)} s)`]
}
