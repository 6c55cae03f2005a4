import { Cron } from 'croner'
import { coerceError } from '../errors'
import { setBounded } from '../bounded-map'

// Parsing a pattern costs more than asking it for the next time: keep parsed ones.
const cache = new Map<string, Cron>()
const MAX_CACHED = 5000

/** A paused croner job (it never runs anything itself): only its date arithmetic is used. */
export function cronFor(pattern: string, timezone: string): Cron {
  const key = `${timezone}\u0000${pattern}`
  let c = cache.get(key)
  if (!c) {
    // Seconds optional (5 or 6 fields); croner's DST rules: a fixed-time job in a gap runs
    // at the first valid time after it, and once when the hour repeats.
    c = new Cron(pattern, { timezone, paused: true, mode: '5-or-6-parts' })
    setBounded(cache, key, c, MAX_CACHED)
  }
  return c
}

/** Null when `tz` is an IANA timezone this runtime knows, else what is wrong. */
export function timezoneProblem(tz: string): string | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz })
    return null
  } catch {
    return `unknown timezone "${tz}"; use an IANA name such as UTC, Europe/Paris or America/New_York`
  }
}

/**
 * Null when the pattern is valid and fires at least once more, else a message
 * saying what is wrong, in croner's words plus what a valid pattern looks like.
 */
export function cronProblem(pattern: string, timezone: string, from: Date): string | null {
  let c: Cron
  try {
    c = cronFor(pattern, timezone)
  } catch (err) {
    const why = coerceError(err)
      .message.replace(/^CronPattern: /, '')
      .replace(/^Syntax error, /, '')
    return `invalid cron "${pattern}": ${why}; use 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, e.g. "*/15 * * * *" or "0 30 9 * * MON-FRI"`
  }
  if (!c.nextRun(from)) return `cron "${pattern}" never fires (no such date in the future)`
  return null
}

/** The first tick strictly after `after`, or null when the pattern never fires again. */
export function nextTick(pattern: string, timezone: string, after: Date): Date | null {
  return cronFor(pattern, timezone).nextRun(after)
}

/** Up to `n` ticks from `from` on, `from` itself included when it is a tick. */
export function ticksFrom(pattern: string, timezone: string, from: Date, n: number): Date[] {
  if (n <= 0) return []
  return cronFor(pattern, timezone).nextRuns(n, new Date(from.getTime() - 1))
}
