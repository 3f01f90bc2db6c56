// 3. Wire cost, from the veth counters of every lab host (the broker's too): what the hosts
// put on the wire (sum of eth0 tx, Ethernet frames as the kernel counts them: L2 header and
// payload, no preamble/FCS). A multicast datagram counts once, as on a shared medium (Wi-Fi);
// rx (the copies the bridge delivered to every port) is given beside it.
// Per write: K single writes of a 16-byte value, one every intervalMs (long enough that each
// write is alone, with its own tail heartbeat), minus the idle rate of the windows before and
// after (every system's idle traffic: they all run at once), divided by K.
// Idle (idleRate): one system alone, minus nothing at all.
import type { Lab } from '../../test/lab/netns'
import { clock, sleep } from '../lib/agent'
import type { System } from '../lib/system'

type Counted = 'txBytes' | 'txPackets' | 'rxBytes' | 'rxPackets'

interface Totals {
  t: number
  txBytes: number
  txPackets: number
  rxBytes: number
  rxPackets: number
  perHostTx: number[]
  perHostTxPackets: number[]
}

async function totals(lab: Lab): Promise<Totals> {
  const all = await Promise.all(lab.hosts.map((h) => lab.counters(h.index)))
  return {
    t: clock(),
    txBytes: all.reduce((s, c) => s + c.txBytes, 0),
    txPackets: all.reduce((s, c) => s + c.txPackets, 0),
    rxBytes: all.reduce((s, c) => s + c.rxBytes, 0),
    rxPackets: all.reduce((s, c) => s + c.rxPackets, 0),
    perHostTx: all.map((c) => c.txBytes),
    perHostTxPackets: all.map((c) => c.txPackets),
  }
}

export interface WireRun {
  bytesPerWrite: number
  packetsPerWrite: number
  rxBytesPerWrite: number
}

let wireTag = 0

export async function wireRun(sys: System, writes: number, intervalMs: number, idleMs: number): Promise<WireRun> {
  const lab = sys.ctx.lab
  await sleep(300)
  // Idle windows before and after the writes: their mean rate is what the writes are above.
  const c0 = await totals(lab)
  await sleep(idleMs)
  const c1 = await totals(lab)
  const writer = sys.agents[0]
  await writer.request({ op: 'trickle', prefix: `w${++wireTag}_`, count: writes, base: 0, intervalMs, kind: 'str16' }, writes * intervalMs + 30_000)
  await sleep(Math.max(300, intervalMs))
  const c2 = await totals(lab)
  await sleep(idleMs / 2)
  const c3 = await totals(lab)
  const idleS = (c1.t - c0.t + c3.t - c2.t) / 1000
  const rate = (a: Counted) => (c1[a] - c0[a] + c3[a] - c2[a]) / idleS
  const busyS = (c2.t - c1.t) / 1000
  const perWrite = (a: Counted) => (c2[a] - c1[a] - rate(a) * busyS) / writes
  return { bytesPerWrite: perWrite('txBytes'), packetsPerWrite: perWrite('txPackets'), rxBytesPerWrite: perWrite('rxBytes') }
}

export interface IdleRate {
  /** tx of the node hosts / N, bytes/s and packets/s. */
  bytesPerSecPerNode: number
  packetsPerSecPerNode: number
  /** tx of the spare (broker) host, bytes/s. */
  spareHostBytesPerSec: number
}

interface Window {
  nodes: number
  nodePackets: number
  spare: number
  seconds: number
}

async function window(lab: Lab, n: number, ms: number): Promise<Window> {
  const a = await totals(lab)
  await sleep(ms)
  const b = await totals(lab)
  const sum = (field: 'perHostTx' | 'perHostTxPackets') => Array.from({ length: n }, (_, i) => b[field][i] - a[field][i]).reduce((x, y) => x + y, 0)
  return { nodes: sum('perHostTx'), nodePackets: sum('perHostTxPackets'), spare: b.perHostTx[n] - a.perHostTx[n], seconds: (b.t - a.t) / 1000 }
}

/**
 * Idle traffic of one system: the others are stopped first (the floor has no timers; MQTT
 * clients only ping every 60 s keepalive, in step since they connected together, so a short
 * window would catch all or none of those pings), then a window with the system alone, then
 * one with nothing running; the difference is the system's.
 */
export async function idleRate(lab: Lab, n: number, system: System, others: System[], ms: number): Promise<IdleRate> {
  for (const other of others) await other.stop()
  // A fresh mesh: paths chosen under the loss and Wi-Fi sections keep unicast copies for a hold
  // of 5-80 s, which an idle window right after them measures (N = 30, 17:11: 1,678 B/s).
  await system.stop()
  await system.start()
  await sleep(3000)
  const alone = await window(lab, n, ms)
  await system.stop()
  await sleep(500)
  const none = await window(lab, n, ms)
  const rate = (w: Window) => ({ nodes: w.nodes / w.seconds, packets: w.nodePackets / w.seconds, spare: w.spare / w.seconds })
  const a = rate(alone)
  const b = rate(none)
  return {
    bytesPerSecPerNode: Math.max(0, a.nodes - b.nodes) / n,
    packetsPerSecPerNode: Math.max(0, a.packets - b.packets) / n,
    spareHostBytesPerSec: Math.max(0, a.spare - b.spare),
  }
}
