import { RUN_STATES, type Run, type RunState, type ValidationIssue } from '$lib/api/types'

/**
 * What the Runs page shows, as its address says: `/runs?state=FAILED&automation=<id>&from=2024-05-01&to=2024-05-31`.
 * `from` and `to` are days of the reader's own calendar, both included.
 */
export interface RunFilter {
  states: RunState[]
  automationId: string | null
  from: string
  to: string
}

/** The `runs` query's arguments for a filter. */
export interface RunFilterArgs {
  states?: RunState[]
  automationId?: string
  since?: string
  until?: string
}

export function filterFromUrl(params: URLSearchParams): RunFilter {
  return {
    states: (params.get('state') ?? '')
      .split(',')
      .filter((s): s is RunState => (RUN_STATES as readonly string[]).includes(s)),
    automationId: params.get('automation') || null,
    from: params.get('from') ?? '',
    to: params.get('to') ?? '',
  }
}

/** The page's address for a filter (empty parts left out). */
export function filterHref(f: RunFilter): string {
  const q = new URLSearchParams()
  if (f.states.length) q.set('state', f.states.join(','))
  if (f.automationId) q.set('automation', f.automationId)
  if (f.from) q.set('from', f.from)
  if (f.to) q.set('to', f.to)
  const search = q.toString()
  return search ? `/runs?${search}` : '/runs'
}

export const isFiltered = (f: RunFilter): boolean =>
  f.states.length > 0 || f.automationId !== null || f.from !== '' || f.to !== ''

/** The local midnight `plusDays` after the start of `day` (YYYY-MM-DD), as a timestamp; null if it is no day. */
function dayStart(day: string, plusDays = 0): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day)
  if (!m) return null
  const [year, month, date] = [Number(m[1]), Number(m[2]) - 1, Number(m[3])]
  // Date rolls 2024-02-30 over to March: only a day of the calendar reads back the same.
  const check = new Date(year, month, date)
  if (check.getMonth() !== month || check.getDate() !== date) return null
  return new Date(year, month, date + plusDays).toISOString()
}

/**
 * The query's arguments: `from` and `to` become the range [from's midnight, the
 * midnight after `to`). A day the address spells wrong is an issue at `since` or
 * `until`, the arguments the server names in its own refusals.
 */
export function filterArgs(f: RunFilter): { args: RunFilterArgs; issues: ValidationIssue[] } {
  const issues: ValidationIssue[] = []
  const args: RunFilterArgs = {}
  if (f.states.length) args.states = f.states
  if (f.automationId) args.automationId = f.automationId
  for (const [path, day, plus] of [
    ['since', f.from, 0],
    ['until', f.to, 1],
  ] as const) {
    if (!day) continue
    const at = dayStart(day, plus)
    if (at === null)
      issues.push({ path, message: `"${day}" is not a day: pick one, or write it as 2024-05-31` })
    else args[path] = at
  }
  return { args, issues }
}

/** Whether a run pushed live belongs in the filtered list (the table shows top-level runs). */
export function acceptsRun(args: RunFilterArgs): (run: Run) => boolean {
  const since = args.since ? Date.parse(args.since) : null
  const until = args.until ? Date.parse(args.until) : null
  return (run) => {
    const at = Date.parse(run.createdAt)
    return (
      run.parentRunId === null &&
      (!args.states || args.states.includes(run.state)) &&
      (!args.automationId || run.automationId === args.automationId) &&
      (since === null || at >= since) &&
      (until === null || at < until)
    )
  }
}
