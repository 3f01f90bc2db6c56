/**
 * What the network causes is counted, not thrown. Names are stable: they appear in
 * `dsn status`, the benchmarks and docs/PROTOCOL.md (e.g. `dropped.auth-failed`).
 */
export class Counters {
  private readonly values = new Map<string, number>()

  add(name: string, n = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + n)
  }

  drop(reason: string): void {
    this.add(`dropped.${reason}`)
  }

  get(name: string): number {
    return this.values.get(name) ?? 0
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.values].sort(([a], [b]) => a.localeCompare(b)))
  }
}
