import type { PairKey } from '../seal/pair-keys'
import type { Address } from './types'
import { Replica } from './replica'
import { ReplayWindow } from './replay-window'

/** What this node knows of one other node. */
export interface Peer {
  nodeId: string
  publicKey: Uint8Array
  verify: (message: Uint8Array, signature: Uint8Array) => boolean
  /** Its X25519 key, learnt from a heartbeat signed by `publicKey`; null until then. */
  dhKey: Uint8Array | null
  /** Pair MAC keys: its frames to us, and ours to it (docs/PROTOCOL.md section 3.2). */
  macIn: PairKey | null
  macOut: PairKey | null
  /** Replay protection outlives incarnations: an old incarnation's datagrams stay refused. */
  window: ReplayWindow
  /** Current incarnation's replica; null while the peer is down. */
  replica: Replica | null
  incarnation: number
  address: Address
  lastHeardAt: number
  /** Last time a datagram from it came by multicast: decides whether it also needs unicast. */
  lastMulticastAt: number
  /** Origin's latest sequence and digest, from its last heartbeat. */
  originSeq: number
  originDigest: Uint8Array | null
  /** When we will next probe it (PING) because it went quiet; null when it is not quiet. */
  probeAt: number | null
  /** Last time anyone (we or another node) pinged it: pings are suppressed like NACKs. */
  lastPingedAt: number
  /** The replica it had when it was declared down by timeout: a peer that was only slow comes
   * back in the same incarnation and gets it back, needing only the gap, not a snapshot. */
  parked: Replica | null
  /** The lastHeardAt of the silence local health last stretched (counted once per silence). */
  keptFor: number
}
