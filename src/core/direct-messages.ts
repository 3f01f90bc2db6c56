import { TIMERS } from './timers'

interface Pending {
  to: string
  data: unknown
  firstAt: number
  nextAt: number
  attempts: number
}

const RECENT_LIMIT = 1024

/** Acknowledged direct messages: retries on our side, de-duplication on the receiving side. */
export class DirectMessages {
  private lastId = 0
  private readonly pending = new Map<number, Pending>()
  private readonly recent = new Set<string>()

  constructor(private readonly timeoutMs: number) {}

  create(to: string, data: unknown, now: number): number {
    const id = ++this.lastId
    this.pending.set(id, { to, data, firstAt: now, nextAt: now + TIMERS.messageRetryMs, attempts: 1 })
    return id
  }

  get(id: number): Pending | undefined {
    return this.pending.get(id)
  }

  acked(from: string, id: number): boolean {
    const p = this.pending.get(id)
    if (!p || p.to !== from) return false
    this.pending.delete(id)
    return true
  }

  /** Messages to resend now, and those that timed out (removed). */
  due(now: number): { resend: Array<[number, Pending]>; failed: Array<[number, Pending]> } {
    const resend: Array<[number, Pending]> = []
    const failed: Array<[number, Pending]> = []
    for (const [id, p] of this.pending) {
      if (p.nextAt > now) continue
      if (now - p.firstAt >= this.timeoutMs) {
        this.pending.delete(id)
        failed.push([id, p])
        continue
      }
      p.attempts++
      p.nextAt = now + Math.min(TIMERS.messageRetryMs * 2 ** (p.attempts - 1), TIMERS.messageRetryMaxMs)
      resend.push([id, p])
    }
    return { resend, failed }
  }

  /** Fails every message to a peer that went down. */
  failTo(nodeId: string): number[] {
    const ids: number[] = []
    for (const [id, p] of this.pending) if (p.to === nodeId) ids.push(id)
    for (const id of ids) this.pending.delete(id)
    return ids
  }

  nextDeadline(): number {
    let next = Infinity
    for (const p of this.pending.values()) next = Math.min(next, p.nextAt)
    return next
  }

  /** True the first time a message is seen; retransmissions are acknowledged but not delivered again. */
  firstDelivery(key: string): boolean {
    if (this.recent.has(key)) return false
    this.recent.add(key)
    if (this.recent.size > RECENT_LIMIT) this.recent.delete(this.recent.values().next().value as string)
    return true
  }
}
