// The fault suite's checker: records every write (origin, incarnation, sequence, key, value)
// and tells, at the end, whether every live node holds exactly each origin's last written
// value. Not a test itself (tap reports it as skipped).
import { isDeepStrictEqual } from 'node:util'
import type { MeshAgent } from '../mesh/agent'

export interface WriteRecord {
  origin: string
  incarnation: number
  /** The origin's sequence number just after the write (from its status). */
  seq: number
  key: string
  /** undefined for a delete. */
  value: unknown
  at: number
}

export class WriteChecker {
  readonly writes: WriteRecord[] = []
  private readonly incarnations = new Map<string, number>()
  private readonly restarts: Array<{ origin: string; from: number; to: number }> = []

  /** A node (re)started with this incarnation: what older incarnations wrote is void. */
  started(origin: string, incarnation: number): void {
    const before = this.incarnations.get(origin)
    if (before !== undefined && before !== incarnation) this.restarts.push({ origin, from: before, to: incarnation })
    this.incarnations.set(origin, incarnation)
  }

  incarnationOf(origin: string): number | undefined {
    return this.incarnations.get(origin)
  }

  record(w: WriteRecord): void {
    const current = this.incarnations.get(w.origin)
    if (current !== w.incarnation) throw new Error(`checker: ${w.origin} wrote as incarnation ${w.incarnation} but started as ${current}`)
    this.writes.push(w)
  }

  /** The state an origin's current incarnation must have: its last written value per key. */
  expected(origin: string): Record<string, unknown> {
    const incarnation = this.incarnations.get(origin)
    const state = new Map<string, unknown>()
    for (const w of this.writes) {
      if (w.origin !== origin || w.incarnation !== incarnation) continue
      if (w.value === undefined) state.delete(w.key)
      else state.set(w.key, w.value)
    }
    return Object.fromEntries(state)
  }

  lastSeq(origin: string): number {
    const incarnation = this.incarnations.get(origin)
    let seq = 0
    for (const w of this.writes) if (w.origin === origin && w.incarnation === incarnation) seq = Math.max(seq, w.seq)
    return seq
  }

  summary(): string {
    const by = new Map<string, number>()
    for (const w of this.writes) by.set(w.origin, (by.get(w.origin) ?? 0) + 1)
    const deletes = this.writes.filter((w) => w.value === undefined).length
    return `${this.writes.length} writes (${deletes} deletes) by ${by.size} origins [${[...by].map(([o, n]) => `${o}:${n}`).join(' ')}], ${this.restarts.length} restarts`
  }

  /**
   * Every disagreement among the live agents: a reader that does not hold an origin's exact
   * expected state, an origin whose own state differs from its writes, a reader on the wrong
   * incarnation or behind the origin's sequence, or one that still lists a node not alive.
   */
  async verify(live: MeshAgent[]): Promise<string[]> {
    const problems: string[] = []
    const liveIds = new Set(live.map((a) => a.nodeId))
    const statuses = await Promise.all(live.map((a) => a.status()))
    const seqOf = new Map(live.map((a, i) => [a.nodeId, statuses[i].seq as number]))
    for (const [i, reader] of live.entries()) {
      const status = statuses[i]
      if (status.incarnation !== this.incarnations.get(reader.nodeId)) problems.push(`${reader.nodeId} runs incarnation ${String(status.incarnation)}, checker has ${this.incarnations.get(reader.nodeId)}`)
      for (const p of status.peers) {
        const id = String(p.nodeId)
        if (!liveIds.has(id)) problems.push(`${reader.nodeId} still lists ${id}, which is not alive`)
        else if (p.incarnation !== this.incarnations.get(id)) problems.push(`${reader.nodeId} holds ${id} incarnation ${String(p.incarnation)}, not ${this.incarnations.get(id)}`)
        else if (p.contiguousSeq !== seqOf.get(id)) problems.push(`${reader.nodeId} has ${id} up to seq ${String(p.contiguousSeq)}, origin is at ${seqOf.get(id)}`)
      }
      for (const origin of live) {
        const want = this.expected(origin.nodeId)
        const got = ((await reader.request({ op: 'state', node: origin.nodeId })).state ?? null) as Record<string, unknown> | null
        if (got === null) problems.push(`${reader.nodeId} has no state for ${origin.nodeId}`)
        else if (!isDeepStrictEqual(got, want)) problems.push(`${reader.nodeId}'s view of ${origin.nodeId} differs: ${describeDiff(got, want)}`)
      }
    }
    for (const origin of live) {
      const last = this.lastSeq(origin.nodeId)
      if ((seqOf.get(origin.nodeId) ?? 0) < last) problems.push(`${origin.nodeId} is at seq ${seqOf.get(origin.nodeId)}, below its recorded ${last}`)
    }
    return problems
  }

  /** Polls verify() until it finds nothing or time runs out; returns the last problems. */
  async settle(live: MeshAgent[], timeoutMs: number, intervalMs = 250): Promise<{ problems: string[]; ms: number }> {
    const start = Date.now()
    let problems = await this.verify(live)
    while (problems.length > 0 && Date.now() - start < timeoutMs) {
      await sleep(intervalMs)
      problems = await this.verify(live)
    }
    return { problems, ms: Date.now() - start }
  }
}

function describeDiff(got: Record<string, unknown>, want: Record<string, unknown>): string {
  const keys = new Set([...Object.keys(got), ...Object.keys(want)])
  const diffs: string[] = []
  for (const k of [...keys].sort()) {
    if (!isDeepStrictEqual(got[k], want[k])) diffs.push(`${k}: has ${JSON.stringify(got[k])}, want ${JSON.stringify(want[k])}`)
  }
  return diffs.slice(0, 4).join('; ') + (diffs.length > 4 ? ` (+${diffs.length - 4} more)` : '')
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
