/** One counter a hot path holds on to: a field to add to, no lookup by name per datagram. */
export interface Counter {
  n: number
}

/**
 * What the network causes is counted, not thrown. Names are stable: they appear in
 * `dsn status`, the benchmarks and docs/PROTOCOL.md (e.g. `dropped.auth-failed`).
 */
export class Counters {
  private readonly cells = new Map<string, Counter & { named: boolean }>()

  /** The counter called `name`, for a caller that adds to it on every datagram. It shows in
   * toJSON() once it is above 0 (or once added to by name), as if it had been added to by name. */
  counter(name: string): Counter {
    return this.cell(name)
  }

  add(name: string, n = 1): void {
    const cell = this.cell(name)
    cell.n += n
    cell.named = true
  }

  drop(reason: string): void {
    this.add(`dropped.${reason}`)
  }

  get(name: string): number {
    return this.cells.get(name)?.n ?? 0
  }

  toJSON(): Record<string, number> {
    const shown = [...this.cells].filter(([, cell]) => cell.named || cell.n !== 0)
    return Object.fromEntries(shown.sort(([a], [b]) => a.localeCompare(b)).map(([name, cell]) => [name, cell.n]))
  }

  private cell(name: string): Counter & { named: boolean } {
    let cell = this.cells.get(name)
    if (!cell) this.cells.set(name, (cell = { n: 0, named: false }))
    return cell
  }
}
