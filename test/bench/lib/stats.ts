/** Small numeric helpers: percentiles by nearest rank, medians, formatting. */

/** The p-th percentile (0..100) by nearest rank; NaN for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]!
}

export const median = (values: readonly number[]): number => percentile(values, 50)

export const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0)

/** Milliseconds with a precision that suits their size. */
export function ms(v: number): string {
  if (!Number.isFinite(v)) return 'n/a'
  if (v < 10) return `${v.toFixed(2)} ms`
  if (v < 100) return `${v.toFixed(1)} ms`
  if (v < 10_000) return `${Math.round(v)} ms`
  return `${(v / 1000).toFixed(1)} s`
}

/** A rate per second, rounded for reading (12.3k/s). */
export function perSecond(v: number): string {
  if (!Number.isFinite(v)) return 'n/a'
  if (v >= 10_000) return `${(v / 1000).toFixed(1)}k/s`
  if (v >= 1000) return `${(v / 1000).toFixed(2)}k/s`
  return `${v.toFixed(0)}/s`
}

export function kb(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'n/a'
  return `${(bytes / 1024).toFixed(1)} KB`
}

export function mb(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'n/a'
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`
}

/** Milliseconds since an arbitrary origin, with sub-millisecond precision. */
export const now = (): number => performance.timeOrigin + performance.now()
