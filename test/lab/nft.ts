// Impairments of one lab host, rendered as a complete nft script. The whole
// table is replaced on every change so the kernel state always equals this model.

export const NFT_TABLE = 'dsnlab'

export interface Impairments {
  /** Percentage (0..100, up to two decimals) of UDP datagrams dropped in each direction on the host's link. */
  lossPercent: number
  /** Addresses this host may neither hear from (unicast or multicast) nor send to. */
  blocked: Set<string>
  /** Drop every datagram to or from 224.0.0.0/4, so only unicast works. */
  multicastBlocked: boolean
  /** Wi-Fi profiles (wifi.ts): multicast and unicast impaired apart, each direction on its own. */
  wifi: WifiImpairments
}

/** What a Wi-Fi access point or an IGMP-snooping switch does to one station (RFC 9119). */
export interface WifiImpairments {
  /** Drop multicast the host would receive / the host sends. */
  multicastBlockedIn: boolean
  multicastBlockedOut: boolean
  /** The two blocks above spare mDNS (224.0.0.251 port 5353): discovery still passes. */
  keepMdns: boolean
  /** Percentage of multicast dropped in each direction on this host's link (no link-layer retry). */
  multicastLossPercent: number
  /** Percentage of unicast UDP dropped in each direction (what is left after link-layer retries). */
  unicastLossPercent: number
}

export function noWifiImpairments(): WifiImpairments {
  return { multicastBlockedIn: false, multicastBlockedOut: false, keepMdns: false, multicastLossPercent: 0, unicastLossPercent: 0 }
}

export function noImpairments(): Impairments {
  return { lossPercent: 0, blocked: new Set(), multicastBlocked: false, wifi: noWifiImpairments() }
}

export function cloneImpairments(imp: Impairments): Impairments {
  return { ...imp, blocked: new Set(imp.blocked), wifi: { ...imp.wifi } }
}

export function checkLossPercent(percent: number): void {
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new RangeError(`loss percent must be within 0..100, got ${percent}`)
  }
}

// numgen yields integers, so scale to basis points: 0.5% -> `mod 10000 < 50`.
function lossRule(percent: number, match = ''): string {
  if (percent >= 100) return `${match}meta l4proto udp counter drop`
  const threshold = Math.round(percent * 100)
  return `${match}meta l4proto udp numgen random mod 10000 < ${threshold} counter drop`
}

const MULTICAST = 'ip daddr 224.0.0.0/4 '
const UNICAST = 'ip daddr != 224.0.0.0/4 '
const MDNS = 'ip daddr 224.0.0.251 udp dport 5353 accept'

/** Rules of the Wi-Fi profile for one direction; mDNS is let through first when asked. */
function wifiRules(w: WifiImpairments, blocked: boolean): string[] {
  const rules: string[] = []
  if (blocked && w.keepMdns) rules.push(MDNS)
  if (blocked) rules.push(`${MULTICAST}counter drop`)
  if (w.multicastLossPercent > 0) rules.push(lossRule(w.multicastLossPercent, MULTICAST))
  if (w.unicastLossPercent > 0) rules.push(lossRule(w.unicastLossPercent, UNICAST))
  return rules
}

/** Name of the nft table (in the bridge namespace) that impairs one bridge port. */
export function portTable(port: string): string {
  return `${NFT_TABLE}_${port}`
}

/**
 * The nft script that makes the table of bridge port `port` match `imp`
 * (deleting the table when there is nothing to impair). The rules sit on the
 * bridge side of the host's veth, i.e. on the wire: the host's own eth0
 * counters still count what it sent, and a dropped send is silent (a drop in
 * the host's output hook would fail sendmsg with EPERM, which no real lossy
 * link does).
 */
export function renderRuleset(imp: Impairments, port: string): string {
  const table = portTable(port)
  // Declaring then deleting makes the delete safe whether or not the table exists.
  const lines = [`table netdev ${table}`, `delete table netdev ${table}`]
  const fromHost: string[] = [] // ingress of the port: what the host sends
  const toHost: string[] = [] // egress of the port: what the host would receive
  if (imp.multicastBlocked) {
    fromHost.push('ip daddr 224.0.0.0/4 counter drop')
    toHost.push('ip daddr 224.0.0.0/4 counter drop')
  }
  if (imp.blocked.size > 0) {
    const set = [...imp.blocked].sort().join(', ')
    fromHost.push(`ip daddr { ${set} } counter drop`)
    // saddr also catches the other group's multicast.
    toHost.push(`ip saddr { ${set} } counter drop`)
  }
  if (imp.lossPercent > 0) {
    fromHost.push(lossRule(imp.lossPercent))
    toHost.push(lossRule(imp.lossPercent))
  }
  fromHost.push(...wifiRules(imp.wifi, imp.wifi.multicastBlockedOut))
  toHost.push(...wifiRules(imp.wifi, imp.wifi.multicastBlockedIn))
  if (fromHost.length === 0 && toHost.length === 0) return lines.join('\n') + '\n'
  lines.push(
    `table netdev ${table} {`,
    '  chain from_host {',
    `    type filter hook ingress device "${port}" priority 0; policy accept;`,
    ...fromHost.map((r) => `    ${r}`),
    '  }',
    '  chain to_host {',
    `    type filter hook egress device "${port}" priority 0; policy accept;`,
    ...toHost.map((r) => `    ${r}`),
    '  }',
    '}',
  )
  return lines.join('\n') + '\n'
}
