/**
 * NOTIFY channels shared by every node. Payloads are small and compact because
 * PostgreSQL caps them at 8000 bytes and W3/W5 push hundreds of thousands.
 */
export const Channel = {
  /** New claimable work: workers wake up and claim. Payload unused. */
  WAKE: 'sy_wake',
  /** Run state changes: JSON array of RunEvent tuples. */
  RUN: 'sy_run',
  /** New log lines: JSON array of LogEvent tuples. */
  LOG: 'sy_log',
  /** A running run should stop: payload is the run id. */
  CANCEL: 'sy_cancel',
  ACCESS: 'sy_access', // grants changed (revoked token, deleted user, role, folder grant, sign-out): JSON AccessChange
} as const

/** [runId, orgId, automationId, state, parentRunId|null] */
export type RunEventTuple = [string, string, string, string, string | null]
/** [runId, orgId, logId, level, message, atMillis] */
export type LogEventTuple = [string, string, string, string, string, number]

export interface RunEvent {
  runId: string
  orgId: string
  automationId: string
  state: string
  parentRunId: string | null
}

export interface LogEvent {
  runId: string
  orgId: string
  id: string
  level: string
  message: string
  at: Date
}

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
