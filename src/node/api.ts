import type { EventEmitter } from 'node:events'
import type { NodeStatus } from './events'

/**
 * The surface of a running node that the daemon, the CLI and the compatibility face use.
 * `DSNode` (node/dsnode.ts) implements it; tests of those layers may use a fake.
 */
/** The own-state file as found at start: how many keys came back, and anything worth a warning. */
export interface RestoreReport {
  file: string
  keys: number
  /** A torn, corrupt or foreign file (set aside, never fatal), or keys the limits now refuse. */
  warnings: string[]
}

export interface DsnNodeApi extends EventEmitter {
  readonly nodeId: string
  /** Hex Ed25519 public key of this node's identity. */
  readonly publicKey: string
  /** Write a key of this node's own state. Throws DsnError (DSN_BAD_KEY, DSN_VALUE_TOO_LARGE, ...). */
  set(key: string, value: unknown): void
  /** Read one key of any node's state (own included); undefined when unknown. */
  get(nodeId: string, key: string): unknown
  /** Remove a key of this node's own state; false when it was not there. */
  delete(key: string): boolean
  /** A frozen snapshot of one node's whole state, or undefined for an unknown node. */
  state(nodeId: string): Readonly<Record<string, unknown>> | undefined
  /** Ids of live nodes, this node included. */
  peers(): string[]
  /** Direct message to one node, resolved when it acknowledges. DSN_UNKNOWN_PEER, DSN_SEND_TIMEOUT. */
  send(nodeId: string, data: unknown): Promise<void>
  status(): NodeStatus
  /** What start() restored from persistPath, when one is set (absent on nodes without it). */
  readonly restored?: RestoreReport
  /** Says goodbye (peers drop this node at once), closes sockets. Idempotent. */
  stop(): Promise<void>
}
