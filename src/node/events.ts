/** The events a DSNode emits; the same names appear in logs, `dsn watch` and docs/PROTOCOL.md. */

/** A key of some node's state changed; `deleted` with `value: undefined` when it was removed. */
export interface UpdateEvent {
  nodeId: string
  key: string
  value: unknown
  deleted: boolean
}

export type PeerDownReason = 'timeout' | 'goodbye' | 'restart'

export interface PeerUpEvent {
  nodeId: string
  incarnation: number
  /** "ip:port" of the peer's unicast socket, as last heard. */
  address: string
}

export interface PeerDownEvent {
  nodeId: string
  incarnation: number
  reason: PeerDownReason
}

/** A direct message from one node (`send`), delivered once even if retransmitted. */
export interface MessageEvent {
  from: string
  data: unknown
}

export interface DsnEvents {
  update: [UpdateEvent]
  'peer-up': [PeerUpEvent]
  'peer-down': [PeerDownEvent]
  message: [MessageEvent]
  /** Something went wrong that the node survived (a socket error after start, for instance). */
  error: [Error]
}

export interface PeerStatus {
  nodeId: string
  incarnation: number
  address: string
  /** Highest sequence number applied without a gap, and the origin's latest we have heard of. */
  contiguousSeq: number
  latestSeq: number
  keys: number
  lastHeardMsAgo: number
  publicKey: string
  /**
   * How our datagrams reach it (docs/PROTOCOL.md 13.2-13.3): 'multicast' alone, 'both' (it hears too
   * little of our multicast, so unicast copies too), 'unicast' (our multicast barely or never
   * reaches it, or multicast is off).
   */
  path: 'multicast' | 'unicast' | 'both'
  /** Fraction of our multicast it hears, from its receiver report; null before its first report. */
  multicastOut: number | null
  /** Fraction of its multicast we hear; null when not measured lately. */
  multicastIn: number | null
  /** Since when the path is what it is. */
  pathChangedMsAgo: number
}

export interface NodeStatus {
  nodeId: string
  cluster: string
  incarnation: number
  publicKey: string
  /** Our own stream: last sequence number sent and keys held. */
  seq: number
  keys: number
  unicastAddress: string
  /** `loopback`: our multicast is looped back to this host, because another node runs on it. */
  multicast: { group: string; port: number; interface: string; loopback: boolean } | null
  peers: PeerStatus[]
  /** Datagrams dropped, by reason, and other protocol counters (sent, received, nacks, resends...). */
  counters: Record<string, number>
  uptimeMs: number
}
