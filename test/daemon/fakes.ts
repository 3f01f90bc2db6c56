// A DsnNodeApi with no network at all, for the daemon and CLI tests: state lives in maps, and
// the test plays the mesh (remoteSet, peerUp, peerDown). Importing it has no side effect.
import { EventEmitter } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type { DsnOptions } from '../../src/config'
import { DsnError } from '../../src/errors'
import type { DsnNodeApi } from '../../src/node/api'
import type { NodeStatus, PeerDownReason } from '../../src/node/events'

export class FakeNode extends EventEmitter implements DsnNodeApi {
  readonly publicKey = 'ab'.repeat(32)
  readonly states = new Map<string, Map<string, unknown>>()
  readonly live = new Set<string>()
  stopCalls = 0
  heartbeats = 1
  readonly options: DsnOptions

  constructor(options: DsnOptions) {
    super()
    this.options = options
    this.states.set(this.nodeId, new Map())
    this.live.add(this.nodeId)
  }

  get nodeId(): string {
    return this.options.nodeId ?? 'fake'
  }

  set(key: string, value: unknown): void {
    if (typeof key !== 'string' || key === '' || Buffer.byteLength(key) > 128) throw new DsnError('DSN_BAD_KEY', `key must be 1-128 bytes of UTF-8 (got ${JSON.stringify(key)})`)
    if (JSON.stringify(value ?? null).length > 1000) throw new DsnError('DSN_VALUE_TOO_LARGE', 'value is over maxValueBytes (1000)')
    this.own().set(key, value)
    this.emit('update', { nodeId: this.nodeId, key, value, deleted: false })
  }

  get(nodeId: string, key: string): unknown {
    return this.states.get(nodeId)?.get(key)
  }

  delete(key: string): boolean {
    const had = this.own().delete(key)
    if (had) this.emit('update', { nodeId: this.nodeId, key, value: undefined, deleted: true })
    return had
  }

  state(nodeId: string): Readonly<Record<string, unknown>> | undefined {
    const state = this.states.get(nodeId)
    return state && this.live.has(nodeId) ? Object.freeze(Object.fromEntries(state)) : undefined
  }

  peers(): string[] {
    return [...this.live].sort()
  }

  async send(nodeId: string): Promise<void> {
    if (!this.live.has(nodeId)) throw new DsnError('DSN_UNKNOWN_PEER', `no live node ${nodeId}`)
  }

  status(): NodeStatus {
    return {
      nodeId: this.nodeId,
      cluster: this.options.cluster ?? 'default',
      incarnation: 1,
      publicKey: this.publicKey,
      seq: this.own().size,
      keys: this.own().size,
      unicastAddress: '127.0.0.1:40000',
      multicast: { group: '239.255.74.74', port: 47474, interface: 'lo', loopback: false },
      peers: this.peers()
        .filter((id) => id !== this.nodeId)
        .map((id) => ({ nodeId: id, incarnation: 7, address: '10.0.0.2:40000', contiguousSeq: 3, latestSeq: 3, keys: this.states.get(id)?.size ?? 0, lastHeardMsAgo: 120, publicKey: 'cd'.repeat(32), path: 'multicast' as const, multicastOut: 1, multicastIn: 1, pathChangedMsAgo: 5000 })),
      counters: { heartbeats: this.heartbeats, 'dropped.auth-failed': 0 },
      uptimeMs: 1234,
    }
  }

  async stop(): Promise<void> {
    this.stopCalls++
  }

  // The test plays the rest of the mesh:
  peerUp(nodeId: string): void {
    this.live.add(nodeId)
    if (!this.states.has(nodeId)) this.states.set(nodeId, new Map())
    this.emit('peer-up', { nodeId, incarnation: 7, address: '10.0.0.2:40000' })
  }

  peerDown(nodeId: string, reason: PeerDownReason = 'goodbye'): void {
    this.live.delete(nodeId)
    this.emit('peer-down', { nodeId, incarnation: 7, reason })
  }

  remoteSet(nodeId: string, key: string, value: unknown): void {
    if (!this.states.has(nodeId)) this.peerUp(nodeId)
    this.states.get(nodeId)?.set(key, value)
    this.emit('update', { nodeId, key, value, deleted: false })
  }

  private own(): Map<string, unknown> {
    return this.states.get(this.nodeId) as Map<string, unknown>
  }
}

/** A startNode factory that records the nodes it made. */
export function fakeStarter(): { startNode: (options: DsnOptions) => Promise<FakeNode>; nodes: FakeNode[] } {
  const nodes: FakeNode[] = []
  return {
    nodes,
    startNode: async (options) => {
      const node = new FakeNode(options)
      nodes.push(node)
      return node
    },
  }
}

/**
 * A private temp dir for sockets, removed after the test. Not t.testdir(): a Unix socket path
 * must fit in 107 bytes, and the fixture paths built from test names do not.
 */
export function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dsn-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}
