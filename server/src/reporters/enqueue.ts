import type { Queryable } from '../db/database'
import { RUN_COLUMNS } from '../engine/run-row'
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
 * none. One statement for the whole batch; the idempotency key (reporter, run, outcome; see keyOf)
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
  // START: once per run, whatever its attempts. END: once per end; a run ends once per
  // attempt that is its last (retries end it once), and again only when re-run from a step.
  const keyOf = (r: RunRow) => (event === 'START' ? `${r.id}:START` : `${r.id}:${r.state}:${r.attempt}`)
  await tx.query(
    `with due as (
       select unnest($1::int8[]) as run_id, unnest($2::uuid[]) as automation_id,
              unnest($3::text[]) as outcome, unnest($4::text[])::jsonb as snapshot,
              unnest($5::text[]) as conditions, unnest($8::text[]) as key
     ), ins as (
       insert into deliveries (org_id, run_id, automation_id, reporter_id, idempotency_key, outcome, snapshot, max_attempts)
       select p.org_id, d.run_id, d.automation_id, p.id, p.id || ':' || d.key, d.outcome, d.snapshot, $7
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
      runs.map(keyOf),
    ],
  )
}

/**
 * Queues a SEND_MESSAGE step's message about the run it belongs to (its chain, else
 * itself), keyed by the step's run so a retried step queues it once. Returns false when
 * an earlier attempt already did.
 */
export async function queueStepMessage(
  db: Queryable,
  m: { runId: string; orgId: string; spec: unknown; maxAttempts: number },
): Promise<boolean> {
  const [about] = await db.query<RunRow>(
    `select ${RUN_COLUMNS} from runs where org_id = $2 and id = coalesce((select parent_run_id from runs where id = $1), $1)`,
    [m.runId, m.orgId],
  )
  const rows = await db.query(
    `insert into deliveries (org_id, run_id, automation_id, idempotency_key, outcome, snapshot, spec, max_attempts)
     values ($1, $2, $3, $4, 'STEP', $5, $6, $7) on conflict (idempotency_key) do nothing returning id`,
    [
      m.orgId,
      m.runId,
      about!.automation_id,
      `step:${m.runId}`,
      JSON.stringify(snapshotOf(about!)),
      JSON.stringify(m.spec),
      m.maxAttempts,
    ],
  )
  if (rows.length > 0) await db.query(`select pg_notify('${DELIVERY_CHANNEL}', '')`)
  return rows.length > 0
}
