import type { NodeStatus } from '../node/events'

/**
 * GET /metrics in the Prometheus text format 0.0.4. Pure: the server gathers a MetricsInput
 * (node.status(), numeric state values, process figures) and this renders it, so the names
 * and the escaping are tested without a socket. Names follow the Prometheus conventions:
 * `dsn_` prefix, base units (seconds, bytes), `_total` on counters, one family per metric with
 * a label for what varies (`dsn_dropped_total{reason="auth-failed"}`). Every counter of
 * core/counters.ts is exported, including ones added later, under a derived name.
 */
export interface MetricsInput {
  status: NodeStatus
  version: string
  /** Numeric (and boolean, as 0/1) state values: [node, key, value]. */
  values: Array<[string, string, number]>
  /** How many numeric values were left out to keep the series bounded. */
  valuesOmitted: number
  process: { residentBytes: number; cpuSeconds: number; startTimeSeconds: number; heapUsedBytes: number }
}

/** Counters that are one family with a label (`dropped.auth-failed` -> reason="auth-failed"). */
const LABELLED: Record<string, { name: string; label: string; help: string }> = {
  dropped: { name: 'dsn_dropped_total', label: 'reason', help: 'Datagrams dropped, by reason (docs/PROTOCOL.md section 16).' },
  ignored: { name: 'dsn_ignored_total', label: 'reason', help: 'Authentic frames that concerned no one here, by reason.' },
  'peers-down': { name: 'dsn_peers_down_total', label: 'reason', help: 'Peers declared down, by reason (timeout, goodbye, restart).' },
  'path-changes': { name: 'dsn_path_changes_total', label: 'change', help: 'Per-peer path changes: unicast-added (a peer hears too little of our multicast), multicast-only (it recovered).' },
}

/** Names and help for the counters people graph; others get a derived name and a generic help. */
const KNOWN: Record<string, [string, string]> = {
  'datagrams-received': ['dsn_datagrams_received_total', 'Datagrams received (before authentication).'],
  'datagrams-sent': ['dsn_datagrams_sent_total', 'Datagrams sent.'],
  'bytes-received': ['dsn_received_bytes_total', 'UDP payload bytes received.'],
  'bytes-sent': ['dsn_sent_bytes_total', 'UDP payload bytes sent (a datagram sent by multicast and unicast counts once).'],
  'unicast-copies': ['dsn_unicast_copies_total', 'Unicast copies of sent datagrams (static peers, peers on a unicast path, PING answers, point-to-point repair and probes).'],
  'writes-sent': ['dsn_writes_sent_total', 'Keys sent in deltas.'],
  heartbeats: ['dsn_heartbeats_total', 'Unsigned heartbeats sent.'],
  'heartbeats-signed': ['dsn_heartbeats_signed_total', 'Signed heartbeats sent.'],
  'nacks-sent': ['dsn_nacks_sent_total', 'NACKs sent for missing sequence ranges (receiver side of repair).'],
  'nacks-received': ['dsn_nacks_received_total', 'NACKs received for our own stream (origin side of repair).'],
  'nacks-overheard': ['dsn_nacks_overheard_total', 'NACKs of other receivers overheard (they may suppress ours).'],
  'nacks-suppressed': ['dsn_nacks_suppressed_total', 'NACKs not sent because another receiver already asked.'],
  'nack-copies': ['dsn_nack_copies_total', 'Second copies of NACKs that repeated one which brought nothing (a lossy path).'],
  resends: ['dsn_resends_total', 'Datagrams resent from history in answer to NACKs.'],
  'resend-copies': ['dsn_resend_copies_total', 'Extra copies of resends, sent while repairs were being lost (high loss).'],
  'resends-suppressed': ['dsn_resends_suppressed_total', 'Resends skipped because the same datagram was just resent.'],
  'snapshots-sent': ['dsn_snapshots_sent_total', 'Snapshots sent (a gap older than the history, or a digest mismatch).'],
  'snapshot-requests-sent': ['dsn_snapshot_requests_sent_total', 'Snapshots asked for (anti-entropy).'],
  'digest-mismatches': ['dsn_digest_mismatches_total', 'Heartbeat digests that disagreed with our replica.'],
  'peers-up': ['dsn_peers_up_total', 'Peers that came up.'],
  'send-errors': ['dsn_send_errors_total', 'Socket send errors.'],
  errors: ['dsn_errors_total', 'Errors the node survived (socket errors after start).'],
  'unicast-fanout-capped': ['dsn_unicast_fanout_capped_total', 'Peers left without unicast copies because maxUnicastPeers were already sent them.'],
}

export function renderMetrics(input: MetricsInput): string {
  const out = new MetricsWriter()
  const s = input.status
  out.family('dsn_info', 'gauge', 'This node: id, cluster and version (always 1).')
  out.sample('dsn_info', { node: s.nodeId, cluster: s.cluster, version: input.version }, 1)
  out.gauge('dsn_peers', 'Live peers, this node excluded.', s.peers.length)
  out.gauge('dsn_incarnation', 'This node\'s incarnation (a new one at every start).', s.incarnation)
  out.gauge('dsn_sequence', 'Last sequence number of this node\'s stream in this incarnation.', s.seq)
  out.gauge('dsn_keys', 'Keys in this node\'s own state.', s.keys)
  out.gauge('dsn_uptime_seconds', 'Seconds since the node started.', s.uptimeMs / 1000)

  const peerFamilies: Array<[string, string, (p: NodeStatus['peers'][number]) => number]> = [
    ['dsn_peer_last_heard_seconds', 'Seconds since the peer was last heard from.', (p) => p.lastHeardMsAgo / 1000],
    ['dsn_peer_keys', 'Keys held in our replica of the peer\'s state.', (p) => p.keys],
    ['dsn_peer_sequence', 'Latest sequence number of the peer\'s stream that we know of.', (p) => p.latestSeq],
    ['dsn_peer_missing_datagrams', 'Datagrams of the peer\'s stream not yet received (being repaired by NACK).', (p) => Math.max(0, p.latestSeq - p.contiguousSeq)],
    ['dsn_peer_incarnation', 'The peer\'s incarnation.', (p) => p.incarnation],
    ['dsn_peer_unicast', '1 when the peer is sent unicast copies (path both or unicast), 0 when multicast alone reaches it.', (p) => (p.path === 'multicast' ? 0 : 1)],
    ['dsn_peer_path_age_seconds', 'Seconds since the peer\'s path last changed.', (p) => p.pathChangedMsAgo / 1000],
  ]
  for (const [name, help, get] of peerFamilies) {
    out.family(name, 'gauge', help)
    for (const p of s.peers) out.sample(name, { peer: p.nodeId }, get(p))
  }
  out.family('dsn_peer_multicast_delivery_ratio', 'gauge', 'Fraction of multicast delivered: direction="out" ours as the peer reports it, "in" the peer\'s as we measure it.')
  for (const p of s.peers) {
    if (p.multicastOut !== null) out.sample('dsn_peer_multicast_delivery_ratio', { peer: p.nodeId, direction: 'out' }, p.multicastOut)
    if (p.multicastIn !== null) out.sample('dsn_peer_multicast_delivery_ratio', { peer: p.nodeId, direction: 'in' }, p.multicastIn)
  }

  const families = new Map<string, { help: string; samples: Array<[Record<string, string>, number]> }>()
  for (const [counter, value] of Object.entries(s.counters)) {
    const dot = counter.indexOf('.')
    const group = dot === -1 ? undefined : LABELLED[counter.slice(0, dot)]
    const [name, help, labels] = group
      ? [group.name, group.help, { [group.label]: counter.slice(dot + 1) }]
      : [...(KNOWN[counter] ?? [`dsn_${metricPart(counter)}_total`, `Counter ${counter} (docs/PROTOCOL.md section 16).`]), {}]
    const family = families.get(name) ?? { help, samples: [] }
    family.samples.push([labels, value])
    families.set(name, family)
  }
  for (const [name, family] of [...families].sort(([a], [b]) => a.localeCompare(b))) {
    out.family(name, 'counter', family.help)
    for (const [labels, value] of family.samples) out.sample(name, labels, value)
  }

  out.family('dsn_value', 'gauge', 'Numeric state values of every live node (booleans as 0/1).')
  for (const [node, key, value] of input.values) out.sample('dsn_value', { node, key }, value)
  out.gauge('dsn_value_series_omitted', 'Numeric state values left out of dsn_value to keep the series bounded.', input.valuesOmitted)

  const p = input.process
  out.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', p.residentBytes)
  out.gauge('nodejs_heap_used_bytes', 'V8 heap in use, bytes.', p.heapUsedBytes)
  out.family('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.')
  out.sample('process_cpu_seconds_total', {}, p.cpuSeconds)
  out.gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', p.startTimeSeconds)
  return out.text()
}

/** A counter name as a metric name part: `mdns.peersDropped` -> `mdns_peers_dropped`. */
export function metricPart(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
}

/** Label values: backslash, double quote and line feed are escaped (text format 0.0.4). */
export function escapeLabel(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))
}

export function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN'
  if (n === Infinity) return '+Inf'
  if (n === -Infinity) return '-Inf'
  return String(n)
}

class MetricsWriter {
  private readonly lines: string[] = []

  family(name: string, type: 'gauge' | 'counter', help: string): void {
    // HELP text escapes backslash and line feed only.
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`)
  }

  sample(name: string, labels: Record<string, string>, value: number): void {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    this.lines.push(`${name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${formatNumber(value)}`)
  }

  gauge(name: string, help: string, value: number): void {
    this.family(name, 'gauge', help)
    this.sample(name, {}, value)
  }

  text(): string {
    return this.lines.join('\n') + '\n'
  }
}
