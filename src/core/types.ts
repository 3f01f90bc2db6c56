import type { MessageEvent, PeerDownEvent, PeerUpEvent, UpdateEvent } from '../node/events'

/** "ip:port" of a node's unicast socket. */
export type Address = string

/** A datagram for the shell to send: to the group, and/or to unicast addresses. */
export interface Outgoing {
  bytes: Uint8Array
  multicast: boolean
  unicast: readonly Address[]
  /** A resend or snapshot: sent after fresh datagrams, and shed first when the send queue is long. */
  repair?: boolean
}

export type EngineEvent =
  | { type: 'update'; event: UpdateEvent }
  | { type: 'peer-up'; event: PeerUpEvent }
  | { type: 'peer-down'; event: PeerDownEvent }
  | { type: 'message'; event: MessageEvent }
  | { type: 'message-acked'; messageId: number }
  | { type: 'message-failed'; messageId: number; nodeId: string }
  /** A node id was pinned to its first key: the shell persists it. */
  | { type: 'pin'; nodeId: string; publicKey: Uint8Array }

/** Where randomness comes from: injectable so simulations are deterministic. */
export interface RandomSource {
  /** Uniform in [0, 1). */
  next(): number
  bytes(n: number): Uint8Array
}
