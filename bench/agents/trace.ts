// Opt-in wire trace for the NACK figure: which Data datagrams of one origin each node sent and
// received, by packet number (unique per transmission: a resend gets a new one). Decodes with
// the lab's network key, outside the node, by wrapping dgram's send and 'message' delivery;
// the node's own code is untouched. Costs one extra AEAD open per datagram: loss runs only.
import * as dgram from 'node:dgram'
import { open } from '../../src/seal/envelope'
import { deriveNetworkKey } from '../../src/seal/keys'
import { MessageType } from '../../src/wire/constants'
import { decodeFrame } from '../../src/wire/frame'

export interface TraceData {
  /** seq -> packet number of its first transmission (this node's own Data datagrams). */
  firstSent: Record<number, number>
  /** origin -> packet numbers of Data datagrams received (multicast or unicast). */
  received: Record<string, number[]>
}

interface SocketProto {
  emit: (this: dgram.Socket, ev: string | symbol, ...args: unknown[]) => boolean
  send: (this: dgram.Socket, ...args: unknown[]) => void
}

export class WireTrace {
  private firstSent = new Map<number, number>()
  private received = new Map<string, Set<number>>()
  private readonly keys: ReturnType<typeof deriveNetworkKey>[]
  private readonly cluster: Uint8Array

  constructor(networkKey: string, cluster: string, private readonly self: string) {
    this.keys = [deriveNetworkKey(networkKey, cluster)]
    this.cluster = new TextEncoder().encode(cluster)
  }

  private restore: (() => void) | null = null

  install(): void {
    if (this.restore) return
    const trace = this
    const proto = dgram.Socket.prototype as unknown as SocketProto
    const { emit, send } = proto
    proto.emit = function (ev, ...args) {
      if (ev === 'message' && args[0] instanceof Uint8Array) trace.onDatagram(args[0], 'in')
      return emit.call(this, ev, ...args)
    }
    proto.send = function (...args) {
      if (args[0] instanceof Uint8Array) trace.onDatagram(args[0], 'out')
      return send.call(this, ...args)
    }
    this.restore = () => {
      proto.emit = emit
      proto.send = send
    }
  }

  uninstall(): void {
    this.restore?.()
    this.restore = null
  }

  reset(): void {
    this.firstSent = new Map()
    this.received = new Map()
  }

  data(): TraceData {
    return {
      firstSent: Object.fromEntries(this.firstSent),
      received: Object.fromEntries([...this.received].map(([o, s]) => [o, [...s]])),
    }
  }

  private onDatagram(bytes: Uint8Array, dir: 'in' | 'out'): void {
    const opened = open(this.keys, this.cluster, bytes)
    if (!opened.ok) return
    let frame: ReturnType<typeof decodeFrame>
    try {
      frame = decodeFrame(opened.value.frame)
    } catch {
      return
    }
    if (frame.type !== MessageType.Data) return
    if (dir === 'out') {
      if (frame.origin === this.self && !this.firstSent.has(frame.seq)) this.firstSent.set(frame.seq, frame.packet)
    } else if (frame.origin !== this.self) {
      let set = this.received.get(frame.origin)
      if (!set) this.received.set(frame.origin, (set = new Set()))
      set.add(frame.packet)
    }
  }
}
