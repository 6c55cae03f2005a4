import type { Database, Queryable } from '../db/database'
import { FINAL_STATES } from '../domain'
import { recordEvents } from '../triggers/events'
import type { Engine } from '../engine/engine'
import { fireTrigger, loadTarget } from '../triggers/fire'
import { autoTriggersOn } from '../triggers/store'
import { TRIGGER_COLUMNS, type TriggerRow, triggerColumnsOf } from '../triggers/domain'

/** True while the run is queued, waiting or running. */
export async function runActive(q: Queryable, runId: string | null): Promise<boolean> {
  if (!runId) return false
  const [row] = await q.query<{ state: string }>('select state from runs where id = $1', [runId])
  return row !== undefined && !FINAL_STATES.includes(row.state as (typeof FINAL_STATES)[number])
}

/**
 * Fires the tick a locked CRON trigger kept waiting (overlap QUEUE) now that
 * its previous run ended, in the caller's transaction.
 */
export async function firePending(engine: Engine, tx: Queryable, t: TriggerRow, now: Date): Promise<void> {
  const at = t.pending_fire_at
  if (!at) return
  // Switched off while it waited: the tick is dropped with the switch, not fired behind it.
  const wanted = t.enabled && (await autoTriggersOn(tx, t.automation_id))
  const target = wanted ? await loadTarget(tx, t.org_id, t.automation_id) : undefined
  const r = target
    ? await fireTrigger(engine, tx, {
        triggerId: t.id,
        target,
        key: at.toISOString(),
        source: 'SCHEDULE',
        parameters: t.parameters,
        at: now,
        scheduledAt: at,
      })
    : null
  const run = r?.kind === 'FIRED' ? r.run : null
  await tx.query(
    `update triggers set pending_fire_at = null, last_run_id = coalesce($2, last_run_id),
       last_fired_at = case when $2::int8 is null then last_fired_at else $3 end where id = $1`,
    [t.id, run?.id ?? null, now],
  )
  const base = { orgId: t.org_id, automationId: t.automation_id, triggerId: t.id, at: now, scheduledAt: at }
  if (run) {
    const waited = Math.round((now.getTime() - at.getTime()) / 100) / 10
    await recordEvents(tx, [
      {
        ...base,
        kind: 'FIRED',
        runId: run.id,
        message: `tick of ${at.toISOString()} waited ${waited}s for run #${t.last_run_id} to end, then fired`,
      },
    ])
  } else if (r?.kind === 'INVALID') {
    await recordEvents(tx, [{ ...base, kind: 'ERROR', message: `tick not fired: ${r.message}` }])
  }
}

/**
 * From a run-finished hook: a SCHEDULE run ended, so a tick waiting behind it
 * may fire. SKIP LOCKED keeps the completion from waiting on (or deadlocking
 * with) a scheduler holding the trigger; the scheduler's sweep catches that case.
 */
export async function releaseAfter(engine: Engine, tx: Queryable, runId: string): Promise<void> {
  const rows = await tx.query<TriggerRow>(
    `select ${TRIGGER_COLUMNS} from triggers where last_run_id = $1 and pending_fire_at is not null
     for update skip locked`,
    [runId],
  )
  for (const t of rows) await firePending(engine, tx, t, new Date())
}

/** The scheduler's sweep: waiting ticks whose previous run ended (a release the hook could not take). */
export async function sweepPending(engine: Engine, db: Database, now: Date): Promise<number> {
  const ids = await db.query<{ id: string }>(
    `select t.id from triggers t join runs r on r.id = t.last_run_id
     where t.pending_fire_at is not null and r.state = any($1::text[])`,
    [FINAL_STATES],
  )
  let fired = 0
  for (const { id } of ids) {
    await db.transaction(async (tx) => {
      const [t] = await tx.query<TriggerRow>(
        `select ${triggerColumnsOf('t')} from triggers t where t.id = $1 and t.pending_fire_at is not null
         for update skip locked`,
        [id],
      )
      if (!t || (await runActive(tx, t.last_run_id))) return
      await firePending(engine, tx, t, now)
      fired++
    })
  }
  return fired
}
