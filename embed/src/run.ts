/**
 * What the button knows about a run: the fields it selects, the order of
 * states, and how a run reads as one line of text for the person who clicked.
 */

/** One selection for the mutation, the query and the subscription, so every source yields the same shape. */
export const RUN_FIELDS = 'id state position error attempt startedAt finishedAt'

export type RunState =
  | 'QUEUED'
  | 'WAITING'
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'CANCELLED'
  | 'TIMED_OUT'
  | 'SKIPPED'

export interface Run {
  id: string
  state: RunState
  /** Place in line for the mutex while WAITING (1 = next). */
  position: number | null
  error: string | null
  /** Grows when the engine retries the run in place (it goes back to QUEUED). */
  attempt: number
  startedAt: string | null
  finishedAt: string | null
}

// Progress within one attempt; 3 = final. Updates come from three sources (the
// mutation, the subscription, the reconciling query) in no guaranteed order.
const STEP: Record<RunState, number> = {
  QUEUED: 0,
  WAITING: 1,
  RUNNING: 2,
  SUCCEEDED: 3,
  FAILED: 3,
  CANCELLED: 3,
  TIMED_OUT: 3,
  SKIPPED: 3,
}

export const isFinal = (run: Run): boolean => STEP[run.state] === 3

/** Whether `next` is at least as recent as `current`, so a late, stale answer never moves the button backwards. */
export function isNewer(current: Run | undefined, next: Run): boolean {
  if (!current || current.id !== next.id) return true
  if (isFinal(current)) return false
  if (next.attempt !== current.attempt) return next.attempt > current.attempt
  return STEP[next.state] >= STEP[current.state]
}

/** Milliseconds as m:ss, or h:mm:ss past an hour. */
export function clock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  const two = (n: number) => String(n).padStart(2, '0')
  const h = Math.floor(s / 3600)
  const m = Math.floor(s / 60) % 60
  return h ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`
}

const took = (run: Run): string =>
  run.startedAt && run.finishedAt
    ? ` in ${clock(Date.parse(run.finishedAt) - Date.parse(run.startedAt))}`
    : ''

const because = (run: Run): string => (run.error ? `: ${run.error}` : '')

/** The status line for a run; the live elapsed time is rendered apart (it must not flood the aria-live region). */
export function describe(run: Run): string {
  switch (run.state) {
    case 'QUEUED':
      return 'Queued'
    case 'WAITING':
      return run.position === 1
        ? 'Waiting · next in line'
        : run.position
          ? `Waiting · #${run.position} in line`
          : 'Waiting'
    case 'RUNNING':
      return 'Running'
    case 'SUCCEEDED':
      return `Succeeded${took(run)}`
    case 'FAILED':
      return `Failed${because(run)}`
    case 'TIMED_OUT':
      return `Timed out${took(run)}`
    case 'CANCELLED':
      return 'Cancelled'
    case 'SKIPPED':
      return `Skipped${because(run)}`
  }
}
