// Order statistics for the tables: nearest-rank percentiles, medians of repeated runs.

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)))
  return sorted[rank - 1]
}

export function median(values: number[]): number {
  const v = values.filter((x) => !Number.isNaN(x))
  if (v.length === 0) return NaN
  const sorted = [...v].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export interface Dist {
  p50: number
  p99: number
  max: number
  n: number
}

export function dist(values: number[]): Dist {
  return { p50: percentile(values, 50), p99: percentile(values, 99), max: percentile(values, 100), n: values.length }
}

/** Each field the median over runs. */
export function medianOf<T extends object>(runs: T[]): T {
  const out: Record<string, number> = {}
  for (const key of Object.keys(runs[0] ?? {})) {
    const values = runs.map((r) => (r as Record<string, unknown>)[key])
    if (values.every((v) => typeof v === 'number')) out[key] = median(values as number[])
  }
  return out as T
}
