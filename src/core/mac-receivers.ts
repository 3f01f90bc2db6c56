import { MAX_MACS } from '../seal/envelope'
import type { PairKey } from '../seal/pair-keys'
import type { Peer } from './peer'

/**
 * The pair MAC keys an origin puts in its datagrams: one per live, keyed peer. Rebuilt only
 * when a peer comes up, goes down or is keyed (never per datagram), so sending scans nothing.
 */
export class MacReceivers {
  private list: PairKey[] = []
  private unkeyed = 0
  private dirty = true

  constructor(private readonly peers: ReadonlyMap<string, Peer>) {}

  changed(): void {
    this.dirty = true
  }

  /** Keyed live peers; empty past MAX_MACS, where one signature costs less than the MACs. */
  get keyed(): PairKey[] {
    this.rebuild()
    return this.list
  }

  /** Live peers that could not check our MACs: while there are any, Data is signed. */
  get unkeyedLive(): number {
    this.rebuild()
    return this.unkeyed
  }

  private rebuild(): void {
    if (!this.dirty) return
    this.dirty = false
    this.list = []
    this.unkeyed = 0
    for (const peer of this.peers.values()) {
      if (!peer.replica) continue
      if (peer.macOut) this.list.push(peer.macOut)
      else this.unkeyed++
    }
    if (this.list.length > MAX_MACS) {
      this.unkeyed += this.list.length
      this.list = []
    }
  }
}
