import * as dgram from 'node:dgram'
import { lookup as dnsLookup } from 'node:dns'
import { isIPv4 } from 'node:net'
import { DsnError } from '../errors'
import { readSocketsBoundTo } from './udp-drops'
import type { Outgoing } from '../core/types'

export interface TransportOptions {
  group: string
  port: number
  unicastPort: number
  interfaceAddress: string
  multicast: boolean
}

/**
 * Receive buffer asked for each socket. A restart or a burst makes every peer send at once
 * (20 peers x a snapshot + heartbeats + deltas), while a starved process reads nothing for
 * hundreds of ms: the default (~208 KiB, about 300-900 small datagrams at the kernel's
 * per-datagram cost) overflows first. The kernel caps it at net.core.rmem_max (4 MiB on
 * most distributions, 208 KiB on some boards: raise it there); it is a cap, not an allocation.
 */
export const RECV_BUFFER_BYTES = 4 * 1024 * 1024

export type DatagramHandler = (bytes: Uint8Array, from: string, via: 'multicast' | 'unicast') => void

/**
 * Two UDP sockets: one bound to the group port (shared, SO_REUSEADDR, so several nodes can
 * run on one host) that only receives multicast, and this node's own unicast socket, which
 * sends everything. Sending from the unicast socket makes every datagram's source address
 * the one a peer answers to, for repairs, direct messages and static peers.
 */
export class UdpTransport {
  private pending = 0
  private onDrained: Array<() => void> = []
  private loopFailed = false

  private constructor(
    private readonly groupSocket: dgram.Socket | null,
    private readonly unicastSocket: dgram.Socket,
    private readonly options: TransportOptions,
    private looped: boolean,
  ) {}

  static async open(options: TransportOptions, onDatagram: DatagramHandler, onError: (err: Error) => void): Promise<UdpTransport> {
    const unicast = dgram.createSocket({ type: 'udp4', recvBufferSize: RECV_BUFFER_BYTES, lookup: literalLookup })
    await bind(unicast, options.unicastPort, 'unicastPort')
    let group: dgram.Socket | null = null
    let looped = false
    try {
      if (options.multicast) {
        multicastStep(`setMulticastInterface ${options.interfaceAddress}`, () => unicast.setMulticastInterface(options.interfaceAddress))
        multicastStep('setMulticastTTL 1', () => unicast.setMulticastTTL(1)) // link-local by design: a LAN tool, never routed
        group = dgram.createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: RECV_BUFFER_BYTES, lookup: literalLookup })
        await bind(group, options.port, 'port')
        const joined = group
        multicastStep(`joining ${options.group} on ${options.interfaceAddress}`, () => joined.addMembership(options.group, options.interfaceAddress))
        // Another socket on the group port is another node on this host: it must hear us.
        // Where /proc cannot tell (unreadable, or not even our own socket listed, as in some
        // sandboxes), loopback stays on, as it always was.
        const onPort = readSocketsBoundTo(options.port)
        looped = onPort !== 1
        multicastStep('setMulticastLoopback', () => unicast.setMulticastLoopback(looped))
      }
    } catch (err) {
      unicast.close()
      group?.close()
      throw err
    }
    const from = (r: dgram.RemoteInfo) => `${r.address}:${r.port}`
    unicast.on('message', (msg, rinfo) => onDatagram(msg, from(rinfo), 'unicast'))
    group?.on('message', (msg, rinfo) => onDatagram(msg, from(rinfo), 'multicast'))
    unicast.on('error', onError)
    group?.on('error', onError)
    return new UdpTransport(group, unicast, options, looped)
  }

  /**
   * Whether our multicast is looped back to this host's sockets. Only another node on this host
   * needs it: alone, every datagram we send would come back to our own group socket, costing a
   * wake-up and two reads per datagram for nothing (bench: writer CPU per write -15 to -40%).
   */
  get loopback(): boolean {
    return this.looped
  }

  /** Another node on this host showed up (its datagram, or its socket on the group port): loop
   * our multicast back from now on. It stays on; a node that left costs what it always did. */
  enableLoopback(): void {
    if (this.looped || this.loopFailed || !this.groupSocket) return
    try {
      this.unicastSocket.setMulticastLoopback(true)
      this.looped = true
    } catch {
      // Accepted at start-up, so a closed socket: nobody to reach. Not retried per datagram.
      this.loopFailed = true
    }
  }

  get unicastPort(): number {
    return this.unicastSocket.address().port
  }

  /** Local ports of our sockets (unicast, and the group port when multicast is on). */
  get ports(): number[] {
    return this.groupSocket ? [this.unicastPort, this.options.port] : [this.unicastPort]
  }

  /** The receive buffer the kernel granted (Linux reports twice the size asked, for its bookkeeping). */
  get recvBufferBytes(): number {
    return this.unicastSocket.getRecvBufferSize()
  }

  /** Copies handed to the kernel and not yet sent: the shell sheds repair past a backlog. */
  get backlog(): number {
    return this.pending
  }

  /**
   * Sends one datagram everywhere it is addressed. No promise per datagram: a counter of
   * copies the kernel has not taken yet, and `drained()` for the one caller that waits (stop).
   */
  send(out: Outgoing, onSendError: (err: Error) => void): void {
    if (out.multicast && this.groupSocket) this.sendOne(out.bytes, this.options.port, this.options.group, onSendError)
    for (const address of out.unicast) {
      const colon = address.lastIndexOf(':')
      this.sendOne(out.bytes, Number(address.slice(colon + 1)), address.slice(0, colon), onSendError)
    }
  }

  /** Resolves once the kernel took every copy sent so far. */
  drained(): Promise<void> {
    if (this.pending === 0) return Promise.resolve()
    return new Promise((resolve) => this.onDrained.push(resolve))
  }

  private sendOne(bytes: Uint8Array, port: number, host: string, onSendError: (err: Error) => void): void {
    this.pending++
    try {
      this.unicastSocket.send(bytes, port, host, (err) => {
        if (err) onSendError(err)
        this.sent()
      })
    } catch (err) {
      // dgram throws synchronously for a bad port or a closed socket: count, never crash.
      onSendError(err as Error)
      this.sent()
    }
  }

  private sent(): void {
    if (--this.pending > 0 || this.onDrained.length === 0) return
    const waiting = this.onDrained
    this.onDrained = []
    for (const resolve of waiting) resolve()
  }

  async close(): Promise<void> {
    const closing = [this.unicastSocket, this.groupSocket].filter((s): s is dgram.Socket => s !== null)
    await Promise.all(closing.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  }
}

/**
 * dgram resolves every destination, an IP literal too, through dns.lookup, which answers on
 * the next tick: a deferral per datagram sent. Every address we send to is a literal (static
 * peers are resolved at start), so it is answered at once; a name still goes to dns.lookup.
 */
const literalLookup = ((hostname: string, options: unknown, callback: (err: Error | null, address: string, family: number) => void): void => {
  if (isIPv4(hostname)) callback(null, hostname, 4)
  else dnsLookup(hostname, options as number, callback)
}) as unknown as NonNullable<dgram.SocketOptions['lookup']>

/**
 * A multicast socket option the platform refuses (ENOPROTOOPT under qemu-user, EADDRNOTAVAIL
 * when the interface lost its address, ENODEV, EINVAL...): say what failed and the settings
 * that avoid multicast altogether.
 */
function multicastStep(what: string, step: () => void): void {
  try {
    step()
  } catch (err) {
    throw multicastSetupError(what, err as Error)
  }
}

export function multicastSetupError(what: string, err: Error): DsnError {
  const e = err as NodeJS.ErrnoException
  // Node puts the errno in the message of setMulticastInterface/addMembership errors, not always in `code`.
  const code = e.code ?? /\b(E[A-Z]+)\b/.exec(e.message)?.[1]
  const why = code === 'ENOPROTOOPT'
    ? 'this platform or emulator (e.g. qemu-user) does not support that multicast option'
    : code === 'EADDRNOTAVAIL' || code === 'ENODEV'
      ? 'the interface has no such IPv4 address or no multicast (check config.interface)'
      : e.message
  return new DsnError(
    'DSN_SOCKET',
    `multicast setup failed (${what}: ${code ?? e.message}): ${why}. Without multicast, set multicast: false ` +
      '(DSN_MULTICAST=false) and list the other nodes in staticPeers (DSN_STATIC_PEERS=host:port,...); mdns: false too if mDNS cannot pass',
  )
}

function bind(socket: dgram.Socket, port: number, field: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      socket.close()
      if (err.code === 'EADDRINUSE') reject(new DsnError('DSN_PORT_IN_USE', `config.${field}: UDP port ${port} is in use by another process`))
      else reject(new DsnError('DSN_SOCKET', `config.${field}: cannot bind UDP port ${port}: ${err.message}`))
    }
    socket.once('error', onError)
    try {
      socket.bind(port, () => {
        socket.off('error', onError)
        resolve()
      })
    } catch (err) {
      // With the lookup above, bind completes inside this call: a refused receive buffer
      // (ERR_SOCKET_BUFFER_SIZE, e.g. on macOS) is thrown here rather than on the next tick.
      socket.off('error', onError)
      try {
        socket.close()
      } catch {
        // Closed already by the failure itself.
      }
      reject(new DsnError('DSN_SOCKET', `config.${field}: cannot bind UDP port ${port}: ${(err as Error).message}`))
    }
  })
}
