// Wi-Fi profiles for the namespace lab: what access points and IGMP-snooping switches do to
// multicast (RFC 9119), built from nft rules on the hosts' bridge ports (nft.ts). Shared by
// the integration tests (test/mesh/wifi.test.ts) and the benchmark (bench/scenarios/wifi.ts).
import type { Lab } from './netns'

export type WifiProfile =
  /** 25% of multicast lost end to end (no link-layer retry), 1.5% of unicast (after retries). */
  | 'lossy-multicast'
  /** One host receives no multicast (mDNS included). */
  | 'blocked-in'
  /** Nothing one host sends to a multicast group leaves it (mDNS included). */
  | 'blocked-out'
  /** One host neither sends nor receives multicast, except mDNS (224.0.0.251:5353). */
  | 'blocked-but-mdns'
  /** No multicast crosses the bridge at all (applied after start, to a running cluster). */
  | 'bridge-blocked'

export const WIFI_PROFILES: readonly WifiProfile[] = ['lossy-multicast', 'blocked-in', 'blocked-out', 'blocked-but-mdns', 'bridge-blocked']

/** End-to-end loss of the lossy profile, percent. */
export const LOSSY_MULTICAST_PERCENT = 25
export const LOSSY_UNICAST_PERCENT = 1.5

/**
 * A datagram crosses two bridge ports (the sender's and the receiver's), each dropping
 * `perPort`: this is the per-port loss that gives `endToEnd` overall.
 */
export function perPortLoss(endToEndPercent: number): number {
  return Math.round(100 * 100 * (1 - Math.sqrt(1 - endToEndPercent / 100))) / 100
}

/** Applies the profile; `host` is the one host a single-host profile concerns (default: the last). */
export async function applyWifiProfile(lab: Lab, profile: WifiProfile, host = lab.hosts.length - 1): Promise<void> {
  switch (profile) {
    case 'lossy-multicast': {
      const change = { multicastLossPercent: perPortLoss(LOSSY_MULTICAST_PERCENT), unicastLossPercent: perPortLoss(LOSSY_UNICAST_PERCENT) }
      await Promise.all(lab.hosts.map((h) => lab.setWifi(h.index, change)))
      return
    }
    case 'blocked-in':
      return lab.setWifi(host, { multicastBlockedIn: true })
    case 'blocked-out':
      return lab.setWifi(host, { multicastBlockedOut: true })
    case 'blocked-but-mdns':
      return lab.setWifi(host, { multicastBlockedIn: true, multicastBlockedOut: true, keepMdns: true })
    case 'bridge-blocked':
      await Promise.all(lab.hosts.map((h) => lab.setWifi(h.index, { multicastBlockedIn: true, multicastBlockedOut: true })))
      return
  }
}

/** Removes every Wi-Fi impairment: the profile is healed. */
export async function healWifi(lab: Lab): Promise<void> {
  const clean = { multicastBlockedIn: false, multicastBlockedOut: false, keepMdns: false, multicastLossPercent: 0, unicastLossPercent: 0 }
  await Promise.all(lab.hosts.map((h) => lab.setWifi(h.index, clean)))
}
