import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

/** What the kernel says about some of our UDP sockets. */
export interface KernelUdpStats {
  /** Datagrams dropped because the receive buffer was full (the `drops` column), summed. */
  drops: number
  /** Bytes waiting in the receive queues, summed. */
  rxQueueBytes: number
  /** Sockets of anyone bound to the shared (group) port, when one was given to the counter. */
  sharedPortSockets?: number
}

/**
 * Parses /proc/net/udp (or udp6): sums `drops` and `rx_queue` over the sockets whose inode is
 * in `inodes` and whose local port is in `ports`. Both filters, because on one host several
 * nodes share the group port (SO_REUSEADDR) and one process may hold other nodes' sockets.
 */
export function parseProcNetUdp(text: string, inodes: ReadonlySet<string>, ports: ReadonlySet<number>): KernelUdpStats {
  const stats: KernelUdpStats = { drops: 0, rxQueueBytes: 0 }
  const wanted = [...inodes].map((inode) => ` ${inode} `)
  for (const line of text.split('\n').slice(1)) {
    // Most lines are other sockets of the host: a substring test before splitting the line.
    if (!wanted.some((w) => line.includes(w))) continue
    const f = line.trim().split(/\s+/)
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
    if (f.length < 13) continue
    const port = parseInt(f[1].split(':')[1] ?? '', 16)
    if (!ports.has(port) || !inodes.has(f[9])) continue
    stats.rxQueueBytes += parseInt(f[4].split(':')[1] ?? '0', 16) || 0
    stats.drops += Number(f[12]) || 0
  }
  return stats
}

/**
 * How many sockets of this network namespace are bound to `port`, any address, any process
 * (/proc/net/udp): on the group port, more than our own means another node runs on this host.
 */
export function socketsBoundTo(text: string, port: number): number {
  // The local address column ends in ":PORT " (4 upper-case hex digits); a substring test first.
  const needle = `:${port.toString(16).toUpperCase().padStart(4, '0')} `
  let count = 0
  for (const line of text.split('\n').slice(1)) {
    if (!line.includes(needle)) continue
    const local = line.trim().split(/\s+/)[1] ?? ''
    if (parseInt(local.split(':')[1] ?? '', 16) === port) count++
  }
  return count
}

/** socketsBoundTo over the live /proc/net/udp; null where it cannot be read (not Linux). */
export function readSocketsBoundTo(port: number, path = '/proc/net/udp'): number | null {
  try {
    return socketsBoundTo(readFileSync(path, 'utf8'), port)
  } catch {
    return null
  }
}

/** Inodes of this process's sockets, from /proc/self/fd; empty where /proc is missing. */
export function ownSocketInodes(): Set<string> {
  const inodes = new Set<string>()
  try {
    for (const fd of readdirSync('/proc/self/fd')) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))
        if (m) inodes.add(m[1])
      } catch {
        // The fd closed while we listed them.
      }
    }
  } catch {
    // Not Linux: no kernel counters, the counter stays 0.
  }
  return inodes
}

/**
 * Reads the kernel's receive-buffer drops and queue for our sockets (Linux /proc/net/udp). The
 * inodes are looked up once per `refresh()`: sockets do not change while the node runs.
 */
export class KernelUdpCounter {
  private inodes = new Set<string>()

  /** `sharedPort`: also count every socket bound to it (the group port; see socketsBoundTo). */
  constructor(private readonly ports: ReadonlySet<number>, private readonly path = '/proc/net/udp', private readonly sharedPort: number | null = null) {}

  refresh(): void {
    this.inodes = ownSocketInodes()
  }

  read(): KernelUdpStats | null {
    if (this.inodes.size === 0) return null
    try {
      const text = readFileSync(this.path, 'utf8')
      const stats = parseProcNetUdp(text, this.inodes, this.ports)
      if (this.sharedPort !== null) stats.sharedPortSockets = socketsBoundTo(text, this.sharedPort)
      return stats
    } catch {
      return null
    }
  }
}
