// The Prometheus text: names, types, label escaping, bounded dsn_value, and `promtool check
// metrics` (Debian's prometheus package) on the result, which also lints the naming conventions.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { escapeLabel, formatNumber, metricPart, renderMetrics, type MetricsInput } from '../../src/http/metrics'
import type { NodeStatus } from '../../src/node/events'

const status: NodeStatus = {
  nodeId: 'kitchen',
  cluster: 'home',
  incarnation: 5,
  publicKey: 'ab'.repeat(32),
  seq: 42,
  keys: 3,
  unicastAddress: '10.0.0.1:47475',
  multicast: { group: '239.255.74.74', port: 47474, interface: 'eth0', loopback: false },
  peers: [{ nodeId: 'hall', incarnation: 9, address: '10.0.0.2:47475', contiguousSeq: 10, latestSeq: 13, keys: 2, lastHeardMsAgo: 250, publicKey: 'cd'.repeat(32), path: 'both', multicastOut: 0.75, multicastIn: 1, pathChangedMsAgo: 3500 }],
  counters: { 'path-changes.unicast-added': 2, 'path-changes.multicast-only': 1, 'unicast-fanout-capped': 0, 'datagrams-received': 100, 'bytes-received': 9000, 'dropped.auth-failed': 2, 'dropped.replay': 1, 'peers-down.timeout': 1, 'nacks-sent': 4, resends: 3, 'mdns.peersDropped': 0, 'frames-frobbed': 7 },
  uptimeMs: 61_500,
}

function input(values: MetricsInput['values'] = []): MetricsInput {
  return { status, version: '0.1.0', values, valuesOmitted: 0, process: { residentBytes: 50e6, heapUsedBytes: 8e6, cpuSeconds: 1.25, startTimeSeconds: 1_700_000_000 } }
}

function promtool(text: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
  if (r.error) throw r.error
  return { status: r.status, out: r.stdout + r.stderr }
}

t.test('families, names and values', async (t) => {
  const text = renderMetrics(input([['kitchen', 'temperature', 21.5], ['hall', 'door', 1]]))
  const lines = text.split('\n')
  const has = (line: string) => t.ok(lines.includes(line), line)
  has('# TYPE dsn_datagrams_received_total counter')
  has('dsn_datagrams_received_total 100')
  has('dsn_received_bytes_total 9000')
  has('# TYPE dsn_dropped_total counter')
  has('dsn_dropped_total{reason="auth-failed"} 2')
  has('dsn_dropped_total{reason="replay"} 1')
  has('dsn_peers_down_total{reason="timeout"} 1')
  has('dsn_nacks_sent_total 4')
  has('dsn_resends_total 3')
  has('dsn_mdns_peers_dropped_total 0')
  has('dsn_frames_frobbed_total 7')
  has('# TYPE dsn_peers gauge')
  has('dsn_peers 1')
  has('dsn_peer_last_heard_seconds{peer="hall"} 0.25')
  has('dsn_peer_missing_datagrams{peer="hall"} 3')
  has('dsn_uptime_seconds 61.5')
  has('dsn_path_changes_total{change="unicast-added"} 2')
  has('dsn_path_changes_total{change="multicast-only"} 1')
  has('dsn_unicast_fanout_capped_total 0')
  has('dsn_peer_unicast{peer="hall"} 1')
  has('dsn_peer_path_age_seconds{peer="hall"} 3.5')
  has('dsn_peer_multicast_delivery_ratio{peer="hall",direction="out"} 0.75')
  has('dsn_peer_multicast_delivery_ratio{peer="hall",direction="in"} 1')
  has('dsn_info{node="kitchen",cluster="home",version="0.1.0"} 1')
  has('dsn_value{node="kitchen",key="temperature"} 21.5')
  has('dsn_value{node="hall",key="door"} 1')
  has('process_resident_memory_bytes 50000000')
  t.equal(text.match(/^# TYPE dsn_dropped_total /gm)?.length, 1, 'one family, declared once')
  for (const line of lines.filter((l) => l.startsWith('# TYPE'))) {
    const name = line.split(' ')[2]
    t.ok(lines.includes(lines[lines.indexOf(line) - 1]) && lines[lines.indexOf(line) - 1].startsWith(`# HELP ${name} `), `HELP before TYPE for ${name}`)
  }
  t.ok(text.endsWith('\n'))
  const checked = promtool(text)
  t.equal(checked.status, 0, `promtool check metrics: ${checked.out}`)
  t.equal(checked.out.trim(), '', 'no lint warning')
})

t.test('label values are escaped; odd numbers are spelled as Prometheus wants', async (t) => {
  t.equal(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd')
  t.equal(formatNumber(NaN), 'NaN')
  t.equal(formatNumber(Infinity), '+Inf')
  t.equal(formatNumber(-Infinity), '-Inf')
  t.equal(formatNumber(1e21), '1e+21')
  t.equal(metricPart('mdns.peersDropped'), 'mdns_peers_dropped')
  const text = renderMetrics(input([['kitchen', 'say "hi"\\\nnow ünïcode', 1], ['kitchen', 'inf', Infinity], ['kitchen', 'nan', NaN]]))
  t.ok(text.includes('dsn_value{node="kitchen",key="say \\"hi\\"\\\\\\nnow ünïcode"} 1'))
  t.ok(text.includes('dsn_value{node="kitchen",key="inf"} +Inf'))
  const checked = promtool(text)
  t.equal(checked.status, 0, `promtool accepts escaped labels: ${checked.out}`)
})
