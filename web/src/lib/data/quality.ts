import type { TimeSeries } from '$lib/components/TimeChart.svelte'
import { CHECK_OUTCOMES, type Check, type CheckOutcome, type Metric } from './api'

export const OUTCOME_COLORS: Record<CheckOutcome, string> = {
  OK: '#16794a',
  WARNING: '#c98a00',
  ERROR: '#c62a2a',
}

const seconds = (iso: string) => new Date(iso).getTime() / 1000

/** A metric's history as one series, oldest first. */
export function metricSeries(m: Metric): TimeSeries[] {
  return [
    {
      label: m.name,
      color: '#1f4fd1',
      points: m.history.map((h) => [seconds(h.computedAt), h.value] as [number, number | null]).reverse(),
    },
  ]
}

/** Metrics grouped by the table they measure ("warehouse" or a datasource id, then the table). */
export function byTable(
  metrics: Metric[],
): { key: string; datasourceId: string; table: string; metrics: Metric[] }[] {
  const groups = new Map<string, { key: string; datasourceId: string; table: string; metrics: Metric[] }>()
  for (const m of metrics) {
    const key = `${m.datasourceId}/${m.table}`
    const g = groups.get(key) ?? { key, datasourceId: m.datasourceId, table: m.table, metrics: [] }
    g.metrics.push(m)
    groups.set(key, g)
  }
  return [...groups.values()].sort((a, b) => a.key.localeCompare(b.key))
}

/**
 * How many checks ended OK, WARNING and ERROR at each evaluation: results of
 * one run count together, at the time of that run's first result.
 */
export function outcomeSeries(checks: Check[]): TimeSeries[] {
  const rounds = new Map<string, { at: number; counts: Record<CheckOutcome, number> }>()
  for (const c of checks) {
    for (const h of c.history) {
      const key = h.runId ?? `${c.automationId}@${Math.floor(seconds(h.checkedAt) / 60)}`
      const r = rounds.get(key) ?? { at: seconds(h.checkedAt), counts: { OK: 0, WARNING: 0, ERROR: 0 } }
      r.at = Math.min(r.at, seconds(h.checkedAt))
      r.counts[h.outcome]++
      rounds.set(key, r)
    }
  }
  const ordered = [...rounds.values()].sort((a, b) => a.at - b.at)
  return CHECK_OUTCOMES.map((o) => ({
    label: o,
    color: OUTCOME_COLORS[o],
    points: ordered.map((r) => [r.at, r.counts[o]] as [number, number]),
  }))
}
