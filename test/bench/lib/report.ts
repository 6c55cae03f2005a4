import { kb, mb, ms, perSecond } from './stats'

/** How a figure reads: which direction is better decides the ratio. */
export const Unit = {
  MS: 'ms',
  RATE: 'rate',
  BYTES: 'bytes',
  COUNT: 'count',
} as const
export type Unit = (typeof Unit)[keyof typeof Unit]

/** One figure of a competitor for the same measure, with the mode that produced it. */
export interface Other {
  value: number
  /** e.g. "batched", "16 at a time" */
  note?: string
}

/** One line of the table. */
export interface Figure {
  workload: string
  name: string
  value: number
  unit: Unit
  /** Lower is better for times and bytes, higher for rates. */
  better: 'lower' | 'higher'
  /** Target as BENCHMARKS.md states it (≤ gw: graphile-worker in the same run); `limit` decides whether it is met. */
  target?: { text: string; limit: number }
  graphile?: Other
  pgboss?: Other
}

export interface WorkloadResult {
  id: string
  title: string
  figures: Figure[]
  /** What it measured against: versions, worker counts, options. One line each. */
  against: string[]
}

export function format(v: number, unit: Unit): string {
  switch (unit) {
    case 'ms':
      return ms(v)
    case 'rate':
      return perSecond(v)
    case 'bytes':
      return v >= 1024 * 1024 * 10 ? mb(v) : kb(v)
    case 'count':
      return Number.isFinite(v) ? String(Math.round(v)) : 'n/a'
  }
}

function met(f: Figure): string {
  if (!f.target || !Number.isFinite(f.value)) return ''
  const ok = f.better === 'lower' ? f.value <= f.target.limit : f.value >= f.target.limit
  return ok ? ' ✓' : ' ✗'
}

function other(o: Other | undefined, unit: Unit): string {
  if (!o) return '—'
  return `${format(o.value, unit)}${o.note ? ` (${o.note})` : ''}`
}

/** Switchyard against the better of the two others; above 1 means Switchyard is ahead. */
function ratio(f: Figure): string {
  const others = [f.graphile, f.pgboss].filter(
    (o): o is Other => o !== undefined && Number.isFinite(o.value) && o.value > 0,
  )
  if (others.length === 0 || !Number.isFinite(f.value) || f.value <= 0) return '—'
  const best =
    f.better === 'lower' ? Math.min(...others.map((o) => o.value)) : Math.max(...others.map((o) => o.value))
  const r = f.better === 'lower' ? best / f.value : f.value / best
  const who = best === f.graphile?.value ? 'gw' : 'pgb'
  return `${r.toFixed(2)}× vs ${who}`
}

/** Renders the one table (Markdown, aligned) and the "measured against" lines under it. */
export function renderTable(results: readonly WorkloadResult[]): string {
  const header = ['workload', 'figure', 'switchyard', 'target', 'graphile-worker', 'pg-boss', 'ratio']
  const rows: string[][] = []
  for (const r of results) {
    for (const f of r.figures) {
      rows.push([
        f.workload,
        f.name,
        `${format(f.value, f.unit)}${met(f)}`,
        f.target?.text ?? '—',
        other(f.graphile, f.unit),
        other(f.pgboss, f.unit),
        ratio(f),
      ])
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => [...row[i]!].length)))
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => c + ' '.repeat(widths[i]! - [...c].length)).join(' | ')} |`
  const out = [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)]
  out.push(
    '',
    'ratio: the better of graphile-worker (gw) and pg-boss (pgb) against Switchyard; above 1 means',
  )
  out.push('Switchyard is ahead. ✓/✗: target of BENCHMARKS.md met or not on this machine.', '')
  for (const r of results) {
    out.push(`${r.id} ${r.title}`)
    for (const a of r.against) out.push(`  - ${a}`)
  }
  return out.join('\n')
}
