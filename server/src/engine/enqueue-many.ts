import type { Queryable } from '../db/database'
import { notifyRunChanges } from '../events/notify'
import { queueSyncOf } from './run-queue'
import { RUN_COLUMNS, type RunRow } from './run-row'
import type { Enqueued, NewRun, RunOps } from './types'

export interface ScheduledRun extends NewRun {
  /** Due time; a run queued ahead waits for it (workers claim by run_at). */
  runAt: Date | null
}

/**
 * Queues many runs in the caller's transaction, in order. Runs without a
 * mutex take enqueueRun's mutex-free path for all of them at once (one INSERT,
 * one NOTIFY per 7.5 KB of events, one wake-up): a hundred schedules due in the
 * same second, or a workflow fanning out to a hundred steps, cost a handful of
 * statements, not five hundred. Runs with a mutex go through enqueueRun one by
 * one, since each depends on the mutex state the previous one left. Keep the
 * columns in step with insertRun (enqueue.ts).
 */
export async function enqueueMany(ops: RunOps, tx: Queryable, runs: readonly NewRun[]): Promise<Enqueued[]> {
  // One run (a sequential workflow's next step): the single INSERT is cheaper than drawing ids first.
  if (runs.length === 1) return [await ops.enqueue(tx, runs[0]!)]
  const out: (Enqueued | undefined)[] = new Array(runs.length)
  const free = runs.map((r, i) => [r, i] as const).filter(([r]) => !r.definition.mutex)
  if (free.length > 0) {
    // Ids drawn first, so each row is known to be whose whatever order the INSERT takes.
    const ids = await drawRunIds(tx, free.length)
    const rows = await tx.query<RunRow>(
      `with inserted as (insert into runs (id, org_id, automation_id, version_id, version, kind, state, trigger_source, triggered_by,
         run_as, max_attempts, parameters, timeout_ms, run_at, priority, embed_token_id, parent_run_id, step,
         step_item, parent_attempt)
       select id, org_id, automation_id, version_id, version, kind, 'QUEUED', trigger_source, triggered_by, run_as,
         max_attempts, parameters::jsonb, timeout_ms, coalesce(run_at, now()), priority, embed_token_id,
         parent_run_id, step, step_item, parent_attempt
       from unnest($13::int8[], $1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::text[], $6::text[], $7::uuid[],
         $8::uuid[], $9::int[], $10::text[], $11::int[], $12::timestamptz[], $14::int[], $15::uuid[], $16::int8[],
         $17::int[], $18::int[], $19::int[])
         as u(id, org_id, automation_id, version_id, version, kind, trigger_source, triggered_by, run_as,
           max_attempts, parameters, timeout_ms, run_at, priority, embed_token_id, parent_run_id, step, step_item,
           parent_attempt)
       returning ${RUN_COLUMNS}), ${queueSyncOf('inserted')} select * from inserted`,
      [
        free.map(([r]) => r.orgId),
        free.map(([r]) => r.automationId),
        free.map(([r]) => r.versionId),
        free.map(([r]) => r.version),
        free.map(([r]) => r.definition.kind),
        free.map(([r]) => r.triggerSource),
        free.map(([r]) => r.triggeredBy),
        free.map(([r]) => r.runAs),
        free.map(([r]) => r.definition.retry.maxAttempts),
        free.map(([r]) => JSON.stringify(r.parameters)),
        free.map(([r]) => r.definition.timeoutMs),
        free.map(([r]) => r.runAt ?? null),
        ids,
        free.map(([r]) => r.priority ?? 0),
        free.map(([r]) => r.embedTokenId ?? null),
        free.map(([r]) => r.parentRunId ?? null),
        free.map(([r]) => r.step ?? null),
        free.map(([r]) => r.stepItem ?? null),
        free.map(([r]) => r.parentAttempt ?? null),
      ],
    )
    const byId = new Map(rows.map((r) => [r.id, r]))
    free.forEach(([, i], k) => {
      out[i] = { run: byId.get(ids[k]!)!, skipped: false }
    })
    await notifyRunChanges(tx, rows) // with the wake-up: they are QUEUED
  }
  for (const [i, r] of runs.entries()) {
    if (!r.definition.mutex) continue
    out[i] = await ops.enqueue(tx, r)
  }
  return out as Enqueued[]
}

/** Draws `n` run ids from the runs sequence, for rows inserted under them. */
export async function drawRunIds(tx: Queryable, n: number): Promise<string[]> {
  const rows = await tx.query<{ id: string }>(
    "select nextval(pg_get_serial_sequence('runs', 'id'))::text as id from generate_series(1, $1::int)",
    [n],
  )
  return rows.map((r) => r.id)
}
