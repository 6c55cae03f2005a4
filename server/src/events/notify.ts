import type { Queryable } from '../db/database'
import { Channel, type LogEventTuple, type RunEventTuple, packPayloads } from './channels'

/** A run row as far as events need it. */
export interface RunChange {
  id: string
  org_id: string
  automation_id: string
  state: string
  parent_run_id: string | null
}

/**
 * Announces run changes inside the caller's transaction: PostgreSQL delivers
 * them at commit, so a listener never sees a state that was rolled back.
 */
export async function notifyRunChanges(tx: Queryable, changes: readonly RunChange[]): Promise<void> {
  if (changes.length === 0) return
  const tuples: RunEventTuple[] = changes.map((c) => [
    c.id,
    c.org_id,
    c.automation_id,
    c.state,
    c.parent_run_id,
  ])
  for (const payload of packPayloads(tuples)) {
    await tx.query('select pg_notify($1, $2)', [Channel.RUN, payload])
  }
}

export async function notifyWake(tx: Queryable): Promise<void> {
  await tx.query('select pg_notify($1, $2)', [Channel.WAKE, ''])
}

export async function notifyCancel(tx: Queryable, runId: string): Promise<void> {
  await tx.query('select pg_notify($1, $2)', [Channel.CANCEL, runId])
}

export async function notifyLogs(tx: Queryable, tuples: readonly LogEventTuple[]): Promise<void> {
  for (const payload of packPayloads(tuples)) {
    await tx.query('select pg_notify($1, $2)', [Channel.LOG, payload])
  }
}
