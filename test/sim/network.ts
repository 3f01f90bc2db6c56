import { createHash } from 'node:crypto'
import { resolveConfig, type DsnConfig } from '../../src/config'
import { Engine } from '../../src/core/engine'
import type { EngineEvent, RandomSource } from '../../src/core/types'
import { signerFromSeed } from '../../src/seal/signer'
import { seededRandom } from './random'

export const TEST_KEY = 'a'.repeat(64)
/** As the shell's HealthMonitor samples (src/node/health-monitor.ts). */
const HEALTH_SAMPLE_MS = 250

export interface LinkFaults {
  /** Probability that one receiver loses one datagram. */
  loss: number
  /** Probability that a datagram is lost as it leaves its sender, for every receiver of it at
   * once (one draw per multicast copy, one per unicast copy). With `loss`, this is the bench
   * lab's loss on every host's link in both directions (test/lab/nft.ts). 0 unless set. */
  lossOut?: number
  duplicate: number
  /** Extra random delay in [0, jitterMs]: reorders datagrams. */
  jitterMs: number
  latencyMs: number
}

interface Delivery {
  at: number
  order: number
  to: SimNode
  bytes: Uint8Array
  from: string
  via: 'multicast' | 'unicast'
}

export class SimNode {
  engine: Engine
  readonly events: EngineEvent[] = []
  alive = true
  /** A starved process: until this time it runs no timer and reads no datagram (they queue). */
  stalledUntil = -Infinity
  /** Every datagram this node sent, as the origin: for captures and counting. */
  readonly sent: Uint8Array[] = []
  /**
   * A process on a saturated CPU (see SimNetwork.limitCpu): reading one datagram takes this
   * long, and what arrives meanwhile waits in a receive buffer of `bufferDatagrams`; what does
   * not fit is dropped, as the kernel does (`kernelDrops`). 0: reading is free (the default).
   */
  receiveCostMs = 0
  bufferDatagrams = Infinity
  kernelDrops = 0
  readonly inbox: Delivery[] = []
  busyUntil = -Infinity
  /** Health samples told to the engine, as the shell's HealthMonitor does. */
  healthAt = -Infinity
  dropsReported = 0
  /** This node's wall clock minus the network's clock (ms): nodes whose clocks disagree. */
  wallClockOffsetMs = 0

  constructor(readonly nodeId: string, readonly address: string, public config: DsnConfig, private readonly net: SimNetwork, incarnation: number) {
    this.engine = this.makeEngine(incarnation)
  }

  makeEngine(incarnation: number): Engine {
    const seed = createHash('sha256').update(`seed:${this.nodeId}`).digest().subarray(0, 32)
    return new Engine({
      config: this.config,
      signer: signerFromSeed(new Uint8Array(seed)),
      incarnation,
      now: this.net.now,
      random: this.net.forkRandom(),
      staticPeers: this.net.staticPeersFor(this),
      wallClockOffset: () => this.wallClockOffsetMs,
    })
  }

  eventsOf<T extends EngineEvent['type']>(type: T): Array<Extract<EngineEvent, { type: T }>> {
    return this.events.filter((e): e is Extract<EngineEvent, { type: T }> => e.type === type)
  }
}

/**
 * A lossy in-memory LAN with a fake clock: every node's engine sees datagrams after a
 * latency, maybe lost, duplicated or reordered, and gets `tick` exactly at its deadlines.
 */
export class SimNetwork {
  now = 0
  readonly nodes: SimNode[] = []
  private queue: Delivery[] = []
  private order = 0
  private readonly random: RandomSource
  private blocked = new Set<string>()
  multicastBlocked = false
  /** Multicast-only loss (Wi-Fi, RFC 9119): per node, of what it sends and of what it receives by multicast. */
  private readonly multicastLossOut = new Map<string, number>()
  private readonly multicastLossIn = new Map<string, number>()
  faults: LinkFaults
  /** Per datagram delivered: inspect or count traffic. */
  onDeliver?: (d: { from: string; to: string; bytes: Uint8Array }) => void

  constructor(seed: number, faults: Partial<LinkFaults> = {}) {
    this.random = seededRandom(seed)
    this.faults = { loss: 0, duplicate: 0, jitterMs: 0, latencyMs: 0.2, ...faults }
  }

  forkRandom(): RandomSource {
    return seededRandom(Math.floor(this.random.next() * 2 ** 32))
  }

  staticPeersFor(node: SimNode): string[] {
    return node.config.staticPeers
  }

  add(nodeId: string, options: Record<string, unknown> = {}): SimNode {
    const address = `10.0.0.${this.nodes.length + 1}:47475`
    const config = resolveConfig({ nodeId, networkKey: TEST_KEY, credentialDir: '/nonexistent', mdns: false, ...options })
    const node = new SimNode(nodeId, address, config, this, 1_790_000_000 + Math.floor(this.now / 1000))
    this.nodes.push(node)
    this.drain(node)
    return node
  }

  node(nodeId: string): SimNode {
    const n = this.nodes.find((x) => x.nodeId === nodeId)
    if (!n) throw new Error(`no node ${nodeId}`)
    return n
  }

  /**
   * The node's process is starved for `ms` (a busy CPU, an SD card stall): nothing runs, the
   * datagrams sent to it queue as in a kernel buffer. When it resumes, its overdue timer runs
   * first and the queued datagrams after, as in Node's event loop (timers phase before poll).
   */
  stall(node: SimNode, ms: number): void {
    node.stalledUntil = this.now + ms
  }

  /**
   * Each node's process can read only 1000 / receiveCostMs datagrams a second (the CPU share
   * it gets on an overloaded host); the rest queues in a receive buffer of `bufferDatagrams`
   * and overflows. The node's engine is told its backlog and drops every HEALTH_SAMPLE_MS, as
   * the shell's HealthMonitor does. Models overload, where losses are each receiver's own.
   */
  limitCpu(node: SimNode, receiveCostMs: number, bufferDatagrams: number): void {
    node.receiveCostMs = receiveCostMs
    node.bufferDatagrams = bufferDatagrams
  }

  /** kill -9: the node stops sending and receiving, with no goodbye. */
  kill(node: SimNode): void {
    node.alive = false
    node.inbox.length = 0
  }

  /** Start again with a new incarnation (its own state is gone, as after a crash). */
  restart(node: SimNode): void {
    node.alive = true
    node.engine = node.makeEngine(node.engine.incarnation + 1 + Math.floor(this.now / 1000))
    this.drain(node)
  }

  partition(a: SimNode[], b: SimNode[]): void {
    for (const x of a) for (const y of b) {
      this.blocked.add(`${x.nodeId}>${y.nodeId}`)
      this.blocked.add(`${y.nodeId}>${x.nodeId}`)
    }
  }

  heal(): void {
    this.blocked.clear()
  }

  /**
   * Loses this fraction of the node's multicast, one direction or both (1: blocked). A datagram
   * also sent to the node by unicast then arrives by unicast; unicast is not affected.
   */
  setMulticastLoss(node: SimNode, loss: { in?: number; out?: number }): void {
    if (loss.in !== undefined) this.multicastLossIn.set(node.nodeId, loss.in)
    if (loss.out !== undefined) this.multicastLossOut.set(node.nodeId, loss.out)
  }

  private multicastLost(from: SimNode, to: SimNode): boolean {
    const keep = (1 - (this.multicastLossOut.get(from.nodeId) ?? 0)) * (1 - (this.multicastLossIn.get(to.nodeId) ?? 0))
    return keep < 1 && this.random.next() >= keep
  }

  /** Runs the simulation until `until` (ms) or until `done()` holds after a step. */
  run(until: number, done?: () => boolean): boolean {
    let stepsAtThisTime = 0
    let lastTime = this.now
    for (;;) {
      if (done?.()) return true
      const next = this.nextTime()
      if (next === Infinity || next > until) {
        this.now = Math.max(this.now, until)
        return done?.() ?? false
      }
      this.now = Math.max(this.now, next)
      stepsAtThisTime = this.now === lastTime ? stepsAtThisTime + 1 : 0
      lastTime = this.now
      // A deadline that tick() does not move would spin forever: fail loudly instead.
      if (stepsAtThisTime > 100_000) throw new Error(`simulation stuck at t=${this.now}: ${this.stuckReport()}`)
      this.step()
    }
  }

  runFor(ms: number, done?: () => boolean): boolean {
    return this.run(this.now + ms, done)
  }

  private stuckReport(): string {
    return this.nodes.filter((n) => n.alive && n.engine.nextDeadline() <= this.now).map((n) => n.nodeId).join(', ')
  }

  private nextTime(): number {
    let t = this.queue.length > 0 ? this.queue[0].at : Infinity
    for (const n of this.nodes) {
      if (!n.alive) continue
      t = Math.min(t, Math.max(this.now, n.stalledUntil, n.engine.nextDeadline()))
      if (n.inbox.length > 0) t = Math.min(t, Math.max(this.now, n.busyUntil))
    }
    return t
  }

  private step(): void {
    // A node whose stall ends now runs its overdue timer before it reads its queue.
    for (const n of this.nodes) {
      if (n.alive && n.stalledUntil <= this.now && n.stalledUntil > -Infinity) {
        n.stalledUntil = -Infinity
        if (n.engine.nextDeadline() <= this.now) {
          n.engine.tick(this.now)
          this.drain(n)
        }
      }
    }
    const held: Delivery[] = []
    while (this.queue.length > 0 && this.queue[0].at <= this.now) {
      const d = this.pop()
      if (!d.to.alive) continue
      if (d.to.stalledUntil > this.now) {
        held.push({ ...d, at: d.to.stalledUntil })
        continue
      }
      if (d.to.receiveCostMs > 0) {
        if (d.to.inbox.length >= d.to.bufferDatagrams) d.to.kernelDrops++
        else d.to.inbox.push(d)
        continue
      }
      this.deliver(d)
    }
    for (const d of held) this.push(d)
    for (const n of this.nodes) {
      if (!n.alive || n.inbox.length === 0 || n.busyUntil > this.now) continue
      this.deliver(n.inbox.shift() as Delivery)
      n.busyUntil = this.now + n.receiveCostMs
      if (this.now - n.healthAt >= HEALTH_SAMPLE_MS) {
        n.healthAt = this.now
        const drops = n.kernelDrops - n.dropsReported
        n.dropsReported = n.kernelDrops
        n.engine.noteHealth({ loopLagMs: 0, receiveBacklogMs: n.inbox.length * n.receiveCostMs, kernelDrops: drops }, this.now)
      }
    }
    for (const n of this.nodes) {
      if (n.alive && n.stalledUntil <= this.now && n.engine.nextDeadline() <= this.now) {
        n.engine.tick(this.now)
        this.drain(n)
      }
    }
  }

  private deliver(d: Delivery): void {
    this.onDeliver?.({ from: d.from, to: d.to.address, bytes: d.bytes })
    d.to.engine.receive(d.bytes, d.from, d.via, this.now)
    this.drain(d.to)
  }

  drain(node: SimNode): void {
    const { outgoing, events } = node.engine.take()
    node.events.push(...events)
    for (const out of outgoing) {
      node.sent.push(out.bytes)
      // One delivery per node: by multicast when that copy gets through, else by unicast when
      // it was also sent that way (the second copy would only be refused as a replay).
      const targets = new Map<SimNode, 'multicast' | 'unicast'>()
      if (out.multicast && !this.multicastBlocked && !this.lostLeaving()) {
        for (const n of this.nodes) if (n !== node && !this.multicastLost(node, n)) targets.set(n, 'multicast')
      }
      for (const address of out.unicast) {
        const n = this.nodes.find((x) => x.address === address)
        if (n && n !== node && !targets.has(n) && !this.lostLeaving()) targets.set(n, 'unicast')
      }
      for (const [to, via] of targets) this.transmit(node, to, out.bytes, via)
    }
  }

  private lostLeaving(): boolean {
    const p = this.faults.lossOut ?? 0
    return p > 0 && this.random.next() < p
  }

  /** Puts raw bytes on the wire to one node, as an attacker or a replayed capture would. */
  inject(to: SimNode, bytes: Uint8Array, from = '10.0.0.250:47475'): void {
    this.push({ at: this.now + this.faults.latencyMs, order: this.order++, to, bytes, from, via: 'multicast' })
  }

  private transmit(from: SimNode, to: SimNode, bytes: Uint8Array, via: 'multicast' | 'unicast'): void {
    if (this.blocked.has(`${from.nodeId}>${to.nodeId}`)) return
    const copies = this.random.next() < this.faults.duplicate ? 2 : 1
    for (let i = 0; i < copies; i++) {
      if (this.random.next() < this.faults.loss) continue
      const at = this.now + this.faults.latencyMs + this.random.next() * this.faults.jitterMs
      this.push({ at, order: this.order++, to, bytes, from: from.address, via })
    }
  }

  // A binary heap on (at, order): ties keep send order.
  private push(d: Delivery): void {
    const q = this.queue
    q.push(d)
    let i = q.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(q[i], q[p])) break
      ;[q[i], q[p]] = [q[p], q[i]]
      i = p
    }
  }

  private pop(): Delivery {
    const q = this.queue
    const top = q[0]
    const last = q.pop() as Delivery
    if (q.length > 0) {
      q[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1, r = l + 1
        let m = i
        if (l < q.length && before(q[l], q[m])) m = l
        if (r < q.length && before(q[r], q[m])) m = r
        if (m === i) break
        ;[q[i], q[m]] = [q[m], q[i]]
        i = m
      }
    }
    return top
  }
}

function before(a: Delivery, b: Delivery): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order)
}
