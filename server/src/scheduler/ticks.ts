import type { MissedTickPolicy } from '../triggers/domain'
import { cronFor } from '../triggers/cron'

/** Missed ticks counted one by one up to here (croner takes ~0.1 ms a tick); beyond, "at least". */
const COUNT_CAP = 100
/** Policy ALL fires at most this many missed ticks (the newest); the rest stay recorded as missed. */
export const ALL_CAP = 100
/** Due ticks handled per trigger per pass; the rest wait for the next pass. */
const PER_PASS = 1000

export interface PlannedTick {
  at: Date
  /** A missed tick fired anyway by policy ONCE or ALL. */
  catchUp: boolean
  /** A tick that waited for the previous run (overlap QUEUE) and fires now that it ended. */
  waited?: boolean
}

export interface TickPlan {
  fire: PlannedTick[]
  missed: { count: number; atLeast: boolean; first: Date; last: Date; fired: number } | null
  /** The new cursor: the first tick not handled, or null when the pattern never fires again. */
  next: Date | null
}

export interface PlanInput {
  cron: string
  timezone: string
  /** The trigger's cursor: the first tick not yet handled. */
  cursor: Date
  now: number
  /** Fire ticks up to here: `now`, or `now + lookahead` for ticks that may be queued ahead. */
  horizon: number
  misfireMs: number
  policy: MissedTickPolicy
}

/**
 * Decides what to do with the ticks from the cursor to the horizon. Ticks
 * older than the misfire window fell while no scheduler ran: they are missed
 * and follow the policy; the others fire (late ones are the caller's to report).
 */
export function planTicks(p: PlanInput): TickPlan {
  const c = cronFor(p.cron, p.timezone)
  const missedBefore = p.now - p.misfireMs
  const fire: PlannedTick[] = []
  let t: Date | null = p.cursor
  let missed: TickPlan['missed'] = null
  if (t.getTime() < missedBefore) {
    const first = t
    let last = t
    let count = 0
    const recent: Date[] = []
    while (t && t.getTime() < missedBefore && count < COUNT_CAP) {
      count++
      last = t
      if (p.policy === 'ALL') {
        recent.push(t)
        if (recent.length > ALL_CAP) recent.shift()
      }
      t = c.nextRun(t)
    }
    const atLeast = t !== null && t.getTime() < missedBefore
    if (atLeast) {
      // A long outage: jump over the gap instead of walking every tick of it.
      const before = new Date(missedBefore)
      last = c.previousRuns(1, before)[0] ?? last
      if (p.policy === 'ALL') recent.splice(0, recent.length, ...c.previousRuns(ALL_CAP, before).reverse())
      t = c.nextRun(new Date(missedBefore - 1))
    }
    const catchUp = p.policy === 'ONCE' ? [last] : p.policy === 'ALL' ? recent : []
    fire.push(...catchUp.map((at) => ({ at, catchUp: true })))
    missed = { count, atLeast, first, last, fired: catchUp.length }
  }
  while (t && t.getTime() <= p.horizon && fire.length < PER_PASS) {
    fire.push({ at: t, catchUp: false })
    t = c.nextRun(t)
  }
  return { fire, missed, next: t }
}
