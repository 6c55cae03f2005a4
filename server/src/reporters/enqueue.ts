import type { Queryable } from '../db/database'
import type { RunRow } from '../engine/run-row'
import { type RunSnapshot, conditionsMatching } from './domain'

/** NOTIFY channel that wakes delivery workers; payload unused. */
export const DELIVERY_CHANNEL = 'sy_delivery'

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString())

export function snapshotOf(run: RunRow): RunSnapshot {
  return {
    id: run.id,
    org_id: run.org_id,
    automation_id: run.automation_id,
    state: run.state,
    attempt: run.attempt,
    max_attempts: run.max_attempts,
    error: run.error,
    trigger_source: run.trigger_source,
    triggered_by: run.triggered_by,
    parent_run_id: run.parent_run_id,
    version: run.version,
    parameters: run.parameters,
    outputs: run.outputs,
    created_at: iso(run.created_at),
    started_at: iso(run.started_at),
    finished_at: iso(run.finished_at),
  }
}

/**
 * Queues the deliveries owed for runs, in the caller's transaction (the one that starts
 * or ends them): a crash after that commit cannot lose a message, and a rollback sends
 * none. One statement for the whole batch; the idempotency key (reporter, run, outcome)
 * makes a second start of the same run (a retried attempt) or a replayed end add nothing.
 * Expression conditions are judged by the delivery worker, where the context is loaded.
 */
export async function queueDeliveries(
  tx: Queryable,
  event: 'START' | 'END',
  runs: readonly RunRow[],
  maxAttempts: number,
): Promise<void> {
  if (runs.length === 0) return
  const outcome = (r: RunRow) => (event === 'START' ? 'START' : r.state)
  await tx.query(
    `with due as (
       select unnest($1::int8[]) as run_id, unnest($2::uuid[]) as automation_id,
              unnest($3::text[]) as outcome, unnest($4::text[])::jsonb as snapshot,
              unnest($5::text[]) as conditions
     ), ins as (
       insert into deliveries (org_id, run_id, automation_id, reporter_id, idempotency_key, outcome, snapshot, max_attempts)
       select p.org_id, d.run_id, d.automation_id, p.id, p.id || ':' || d.run_id || ':' || d.outcome, d.outcome, d.snapshot, $7
         from due d join reporters p on p.automation_id = d.automation_id and p.event = $6 and p.enabled
        where p.condition = any(string_to_array(d.conditions, ','))
       on conflict (idempotency_key) do nothing
       returning 1
     )
     select pg_notify('${DELIVERY_CHANNEL}', '') from (select 1 from ins limit 1) x`,
    [
      runs.map((r) => r.id),
      runs.map((r) => r.automation_id),
      runs.map(outcome),
      runs.map((r) => JSON.stringify(snapshotOf(r))),
      runs.map((r) => (event === 'START' ? 'ANY,EXPRESSION' : conditionsMatching(r.state).join(','))),
      event,
      maxAttempts,
    ],
  )
}
