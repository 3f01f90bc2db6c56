// 7. Wi-Fi: the lab's lossy-multicast profile (test/lab/wifi.ts: 25% of multicast lost end to
// end, no link-layer retry; 1.5% of unicast, what is left after retries), the same 1.5% on
// TCP for the broker's clients (their traffic is unicast). Two figures, side by side:
//   latency: a write on one node until the update on every other node (scenarios/latency.ts);
//   exact: rounds of M keys, the time from the round's last write until every replica holds
//          it (scenarios/loss.ts), then every replica must equal the writer's state.
// The profile stays on for the whole section: dsn's path choice (docs/PROTOCOL.md 13.3) has
// time to give peers unicast copies, as it would on a real access point.
import { applyWifiProfile, healWifi, LOSSY_UNICAST_PERCENT, perPortLoss } from '../../test/lab/wifi'
import { sleep } from '../lib/agent'
import type { System } from '../lib/system'
import { setTcpLoss } from '../lib/tcp-loss'
import { latencyRun, type LatencyRun } from './latency'
import { lossRun, type LossRun } from './loss'

export interface WifiRun {
  profile: 'lossy-multicast'
  latency: LatencyRun
  exact: LossRun
  /** dsn only: peers sent unicast copies by the writer when the section ended, of N - 1. */
  unicastPeers?: number
}

export async function wifiRun(sys: System, writes: number, reps: number, M: number, intervalMs: number, settleMs: number): Promise<WifiRun> {
  const lab = sys.ctx.lab
  const tcpLoss = (percent: number) => Promise.all(lab.hosts.map((h) => setTcpLoss(lab, h.index, percent)))
  await applyWifiProfile(lab, 'lossy-multicast')
  await tcpLoss(perPortLoss(LOSSY_UNICAST_PERCENT))
  try {
    // As on a real access point, the profile was there before the writes: a few heartbeats to measure it.
    await sleep(settleMs)
    const latency = await latencyRun(sys, writes, null)
    const noop = { apply: async () => undefined, clear: async () => undefined }
    const exact = await lossRun(sys, 0, reps, M, intervalMs, false, noop)
    let unicastPeers: number | undefined
    if (sys.spec.impl === 'dsn') {
      const status = (await sys.agents[0].request({ op: 'status' })).status as { peers: Array<{ path: string }> }
      unicastPeers = status.peers.filter((p) => p.path !== 'multicast').length
    }
    return { profile: 'lossy-multicast', latency, exact, unicastPeers }
  } finally {
    await healWifi(lab)
    await tcpLoss(0)
  }
}
