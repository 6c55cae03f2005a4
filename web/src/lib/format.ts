const units: [Intl.RelativeTimeFormatUnit, number][] = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1_000],
]

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto', style: 'short' })
const absolute = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'medium' })
const clock = new Intl.DateTimeFormat('en', {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
})

/** "3 min ago"; `now` is passed in so callers can re-render on a ticking clock. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—'
  const diff = new Date(iso).getTime() - now
  if (Math.abs(diff) < 5_000) return 'just now'
  for (const [unit, ms] of units) {
    if (Math.abs(diff) >= ms || unit === 'second') return relative.format(Math.round(diff / ms), unit)
  }
  return '—'
}

export function dateTime(iso: string | null | undefined): string {
  return iso ? absolute.format(new Date(iso)) : '—'
}

/** "14:03:22" for log lines. */
export function timeOfDay(iso: string): string {
  return clock.format(new Date(iso))
}

/** "820 ms", "12.4 s", "3 min 5 s", "2 h 4 min". */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—'
  if (ms < 1_000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 2 : 1)} s`
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1_000)} s`
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`
}

/** Elapsed time of a run, live while it runs. */
export function runDuration(
  run: { durationMs: number | null; startedAt: string | null },
  now = Date.now(),
): string {
  if (run.durationMs !== null) return duration(run.durationMs)
  if (run.startedAt) return duration(now - new Date(run.startedAt).getTime())
  return '—'
}

export function prettyJson(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? ''
}
