/**
 * Which sequence numbers of one origin incarnation have arrived: everything up to
 * `contiguous`, plus a bounded set above it. Also remembers when each missing number was last
 * NACKed, by us or by anyone we heard, so a NACK is not sent again before a repair could come.
 */
export class GapTracker {
  contiguous = 0
  /** Highest sequence number known to exist, from data or heartbeats. */
  latest = 0
  private readonly above = new Set<number>()
  private readonly requestedAt = new Map<number, number>()

  has(seq: number): boolean {
    return seq <= this.contiguous || this.above.has(seq)
  }

  add(seq: number): void {
    if (this.has(seq)) return
    if (seq > this.latest) this.latest = seq
    // The next number in order, as nearly every datagram is: no trip through the set.
    if (seq === this.contiguous + 1) this.contiguous = seq
    else this.above.add(seq)
    this.advance()
  }

  /** Everything below `seq` is covered (a snapshot replaced it). */
  coverBelow(seq: number): void {
    if (seq - 1 <= this.contiguous) return
    this.contiguous = seq - 1
    if (this.contiguous > this.latest) this.latest = this.contiguous
    for (const s of this.above) if (s <= this.contiguous) this.above.delete(s)
    this.advance()
  }

  /** Forgets the lowest number held above the gap (to bound memory); it counts as missing again. */
  forgetLowest(): void {
    let lowest = Infinity
    for (const s of this.above) if (s < lowest) lowest = s
    this.above.delete(lowest)
  }

  noteLatest(seq: number): void {
    if (seq > this.latest) this.latest = seq
  }

  hasGap(): boolean {
    return this.latest > this.contiguous
  }

  get pendingAbove(): number {
    return this.above.size
  }

  /** Anyone NACKed these: do not NACK them again until `until`. */
  markRequested(ranges: ReadonlyArray<readonly [number, number]>, at: number): void {
    for (const [first, last] of ranges) {
      const lo = Math.max(first, this.contiguous + 1)
      const hi = Math.min(last, this.latest, lo + MAX_SCAN)
      for (let s = lo; s <= hi; s++) if (!this.above.has(s)) this.requestedAt.set(s, at)
    }
  }

  /**
   * Missing ranges not requested since `notSince`, at most `maxRanges`, scanning at most
   * MAX_SCAN numbers: a larger gap is answered with a snapshot anyway.
   */
  missing(notSince: number, maxRanges: number): Array<[number, number]> {
    const ranges: Array<[number, number]> = []
    const end = Math.min(this.latest, this.contiguous + MAX_SCAN)
    for (let s = this.contiguous + 1; s <= end; s++) {
      if (this.above.has(s)) continue
      const asked = this.requestedAt.get(s)
      if (asked !== undefined && asked > notSince) continue
      const last = ranges[ranges.length - 1]
      if (last && last[1] === s - 1) last[1] = s
      else if (ranges.length < maxRanges) ranges.push([s, s])
      else break
    }
    if (end < this.latest && ranges.length < maxRanges) {
      // Beyond the scan: ask for the rest as one range.
      const last = ranges[ranges.length - 1]
      if (last && last[1] === end) last[1] = this.latest
      else ranges.push([end + 1, this.latest])
    }
    return ranges
  }

  private advance(): void {
    if (this.above.size > 0) while (this.above.delete(this.contiguous + 1)) this.contiguous++
    if (this.requestedAt.size > 0) for (const s of this.requestedAt.keys()) if (this.has(s)) this.requestedAt.delete(s)
  }
}

const MAX_SCAN = 4096
