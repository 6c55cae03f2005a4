/**
 * NOTIFY channels shared by every node. Payloads are small and compact because
 * PostgreSQL caps them at 8000 bytes and W3/W5 push hundreds of thousands.
 */
export const Channel = {
  /** New claimable work: workers wake up and claim. Payload unused. */
  WAKE: 'sy_wake',
  /** Run state changes: JSON array of RunEvent tuples. */
  RUN: 'sy_run',
  /**
   * New log lines: JSON array of LogEvent tuples naming the newest line id per run.
   * The lines themselves are read from run_logs, so nothing but the platform's own
   * writes ever reaches a subscriber.
   */
  LOG: 'sy_log',
  /**
   * A running run may have a cancel request: payload is the run id. Only a hint:
   * the worker stops the run only if the request is stored on the run row.
   */
  CANCEL: 'sy_cancel',
  /** Credentials or grants changed: JSON AccessEvent. Subscriptions re-check their viewer. */
  ACCESS: 'sy_access',
} as const

/** [runId, orgId, automationId, state, parentRunId, attempt, startedAtMs, finishedAtMs, error] */
export type RunEventTuple = [
  string,
  string,
  string,
  string,
  string | null,
  number,
  number | null,
  number | null,
  string | null,
]
/** [runId, orgId, newestLogId] */
export type LogEventTuple = [string, string, string]

/**
 * One state change of a run, with the fields as of that change: a subscriber renders
 * it without reading the row again (a re-read would see a later state and lose this one).
 */
export interface RunEvent {
  runId: string
  orgId: string
  automationId: string
  state: string
  parentRunId: string | null
  attempt: number
  startedAt: Date | null
  finishedAt: Date | null
  error: string | null
}

export interface LogEvent {
  runId: string
  orgId: string
  /** The newest line written for the run by this announcement. */
  lastId: string
}

/** Who lost or changed access: every subscription of the organization re-checks its viewer. */
export interface AccessEvent {
  orgId: string
  userId?: string | null
}

/** Errors ride along in run events only this long; a final state's row is read in full. */
export const EVENT_ERROR_MAX = 500

const MAX_PAYLOAD = 7500

/** Splits tuples into JSON payloads that each fit in one NOTIFY. */
export function packPayloads(tuples: readonly unknown[]): string[] {
  const out: string[] = []
  let current: string[] = []
  let size = 2
  for (const t of tuples) {
    const s = JSON.stringify(t)
    if (current.length > 0 && size + s.length + 1 > MAX_PAYLOAD) {
      out.push(`[${current.join(',')}]`)
      current = []
      size = 2
    }
    current.push(s)
    size += s.length + 1
  }
  if (current.length > 0) out.push(`[${current.join(',')}]`)
  return out
}
