/**
 * What the bridge still has to publish, coalesced per topic: only the latest payload of a topic is
 * pending, so a slow or absent broker costs at most one entry per topic (topics are bounded by the
 * mesh's own limits: peers x keys per node, plus status and discovery topics). Every payload is
 * retained; an empty one clears the topic. Pure: no I/O, no timers.
 */
export class Outbox {
  private readonly pending = new Map<string, string>()
  /** Entries dropped because the outbox was full (oldest first); a full resync follows a reconnect. */
  dropped = 0

  constructor(private readonly maxPending: number) {}

  get size(): number {
    return this.pending.size
  }

  /**
   * Queues the latest payload of a topic. A topic queued again moves to the back, so the order of
   * the last writes is kept (a discovery config goes out before the state it describes).
   */
  put(topic: string, payload: string): void {
    this.pending.delete(topic)
    this.pending.set(topic, payload)
    while (this.pending.size > this.maxPending) {
      const oldest = this.pending.keys().next().value as string
      this.pending.delete(oldest)
      this.dropped++
    }
  }

  /** Puts a payload back after a failed publish, unless a newer one was queued meanwhile. */
  retry(topic: string, payload: string): void {
    if (!this.pending.has(topic)) this.put(topic, payload)
  }

  /** The oldest pending entry, removed. */
  take(): [string, string] | undefined {
    const next = this.pending.entries().next()
    if (next.done) return undefined
    this.pending.delete(next.value[0])
    return next.value
  }
}
