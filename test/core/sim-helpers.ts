// Helpers for the core tests on the simulated network: convergence checks, a frame sniffer
// and a receive filter. Not a test itself (tap reports it as skipped).
import { isDeepStrictEqual } from 'node:util'
import { sameDigest } from '../../src/core/digest'
import type { Engine } from '../../src/core/engine'
import { open } from '../../src/seal/envelope'
import { deriveNetworkKey } from '../../src/seal/keys'
import { decodeFrame, type Frame } from '../../src/wire/frame'
import { TEST_KEY, type SimNetwork, type SimNode } from '../sim/network'

const SNIFF_KEY = deriveNetworkKey(TEST_KEY, 'default')
const CLUSTER = new TextEncoder().encode('default')

/** Opens a datagram of the simulated cluster, as a member would; undefined when it is not one. */
export function peek(bytes: Uint8Array): Frame | undefined {
  const opened = open([SNIFF_KEY], CLUSTER, bytes)
  if (!opened.ok) return undefined
  try {
    return decodeFrame(opened.value.frame)
  } catch {
    return undefined
  }
}

/**
 * Every way the live nodes disagree: a live origin missing from a peer, a replica of the wrong
 * incarnation, or a replica that differs from the origin's own state. Empty when converged.
 */
export function mismatches(net: SimNetwork, among: SimNode[] = net.nodes.filter((n) => n.alive)): string[] {
  const out: string[] = []
  for (const reader of among) {
    for (const origin of among) {
      if (origin === reader) continue
      const peer = reader.engine.peers.get(origin.nodeId)
      if (!peer?.replica) {
        out.push(`${reader.nodeId} does not see ${origin.nodeId} up`)
        continue
      }
      if (peer.incarnation !== origin.engine.incarnation) {
        out.push(`${reader.nodeId} holds ${origin.nodeId} incarnation ${peer.incarnation}, not ${origin.engine.incarnation}`)
        continue
      }
      const want = origin.engine.state(origin.nodeId)
      const got = reader.engine.state(origin.nodeId)
      if (!isDeepStrictEqual({ ...got }, { ...want })) {
        out.push(`${reader.nodeId}'s replica of ${origin.nodeId} differs (${Object.keys(got ?? {}).length} vs ${Object.keys(want ?? {}).length} keys)`)
      }
    }
  }
  return out
}

/** A cheap convergence test (digests, sizes, incarnations) for use while running. */
export function digestsAgree(net: SimNetwork, among: SimNode[] = net.nodes.filter((n) => n.alive)): boolean {
  for (const reader of among) {
    for (const origin of among) {
      if (origin === reader) continue
      const peer = reader.engine.peers.get(origin.nodeId)
      const replica = peer?.replica
      if (!replica || peer.incarnation !== origin.engine.incarnation) return false
      if (replica.size !== origin.engine.own.size || !sameDigest(replica.digest, origin.engine.own.digest)) return false
    }
  }
  return true
}

/** Runs in slices of `sliceMs` until `done` holds or `ms` passed; true when it held. */
export function runUntil(net: SimNetwork, ms: number, done: () => boolean, sliceMs = 25): boolean {
  const end = net.now + ms
  while (net.now < end) {
    if (done()) return true
    net.run(Math.min(end, net.now + sliceMs))
  }
  return done()
}

/** Drops, at `node`'s receive path, every datagram `drop` says to: a loss only that node sees. */
export function filterReceive(node: SimNode, drop: (bytes: Uint8Array, from: string) => boolean): void {
  const engine: Engine = node.engine
  const receive = engine.receive.bind(engine)
  engine.receive = (bytes, from, via, now) => {
    if (drop(bytes, from)) return
    receive(bytes, from, via, now)
  }
}

/** Sum of one counter over nodes. */
export function total(nodes: SimNode[], counter: string): number {
  return nodes.reduce((sum, n) => sum + n.engine.counters.get(counter), 0)
}

/** Drop counters of nodes, summed by reason. */
export function dropTable(nodes: SimNode[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const n of nodes) {
    for (const [name, v] of Object.entries(n.engine.counters.toJSON())) {
      if (name.startsWith('dropped.')) out[name] = (out[name] ?? 0) + v
    }
  }
  return out
}
