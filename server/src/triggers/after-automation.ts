import type { Database, Queryable } from '../db/database'
import type { RunState } from '../domain'
import { coerceError } from '../errors'
import type { Logger } from '../log'
import type { Engine } from '../engine/engine'
import { type RunRow, runColumnsOf } from '../engine/run-row'
import { releaseAfter } from '../scheduler/overlap'
import type { AfterAutomationConfig } from './config'
import { TRIGGER_CHANNEL, type TriggerRow, triggerColumnsOf } from './domain'
import { recordEvents } from './events'
import { fireTrigger, loadTarget } from './fire'

const MATCHES: Record<AfterAutomationConfig['on'], readonly RunState[]> = {
  SUCCESS: ['SUCCEEDED'],
  FAILURE: ['FAILED', 'TIMED_OUT'],
  // A SKIPPED run never ran, so it is no outcome to follow.
  ANY: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED'],
}

/**
 * Registers the run-finished hook on the app's engine and keeps the app's list
 * of watched automations fresh. Every completion transaction runs the hook (W3
 * does ten thousand a second), so "does anyone follow this automation?" is
 * answered from that list, reloaded when triggers change (NOTIFY). Keys:
 * `after:<id>` (followed by an AFTER_AUTOMATION trigger), `queue:<id>` (a CRON
 * trigger with overlap QUEUE, whose waiting tick may fire when a run of it ends).
 * A trigger saved a moment before its upstream ends may miss that one end (the
 * NOTIFY is still on its way); the scheduler's sweep catches it up.
 */
export async function installTriggerHooks(
  engine: Engine,
  db: Database,
  log: Logger,
): Promise<{ stop(): Promise<void> }> {
  const mine = new Set<string>()
  const reload = async () => {
    const rows = await db.query<{ key: string }>(
      `select distinct 'after:' || watch_automation_id as key from triggers
       where type = 'AFTER_AUTOMATION' and watch_automation_id is not null
       union select distinct 'queue:' || automation_id from triggers
       where type = 'CRON' and config->>'overlapPolicy' = 'QUEUE'`,
    )
    const fresh = new Set(rows.map((r) => r.key))
    for (const id of mine) if (!fresh.has(id)) mine.delete(id)
    for (const id of fresh) mine.add(id)
  }
  const safeReload = () =>
    void reload().catch((err) => log.warn({ err: coerceError(err) }, 'reloading watched automations failed'))
  await reload()
  engine.onRunFinished(async (tx, run) => {
    if (run.trigger_source === 'SCHEDULE' && mine.has(`queue:${run.automation_id}`))
      await releaseAfter(engine, tx, run.id)
    // Chain steps do not count: the chain's own end does (a chain may contain what it follows).
    if (run.parent_run_id === null && mine.has(`after:${run.automation_id}`))
      await fireFollowers(engine, tx, run)
  })
  const unlisten = await db.listen(TRIGGER_CHANNEL, safeReload, safeReload)
  // Belt and braces for a NOTIFY lost while the listening connection was down.
  const timer = setInterval(safeReload, 60_000)
  timer.unref()
  return {
    // The set stays registered: runs still finishing while the worker drains must fire their
    // followers. It only stops being refreshed.
    async stop() {
      clearInterval(timer)
      await unlisten().catch(() => {})
    },
  }
}

/**
 * Fires the AFTER_AUTOMATION triggers following `run`'s automation, in the
 * transaction that ended the run: the end and the follow-up run commit
 * together. The key is the upstream run id, so it fires once per end.
 */
export async function fireFollowers(engine: Engine, tx: Queryable, run: RunRow): Promise<void> {
  const followers = await tx.query<TriggerRow & { upstream: string }>(
    `select ${triggerColumnsOf('t')}, u.name as upstream from triggers t
     join automations a on a.id = t.automation_id and a.deleted_at is null
     join automations u on u.id = t.watch_automation_id
     left join trigger_settings s on s.automation_id = t.automation_id
     where t.watch_automation_id = $1 and t.org_id = $2 and t.type = 'AFTER_AUTOMATION' and t.enabled
       and coalesce(s.auto_triggers, true)`,
    [run.automation_id, run.org_id],
  )
  const at = new Date()
  for (const t of followers) {
    const on = (t.config as AfterAutomationConfig).on
    const target = MATCHES[on].includes(run.state)
      ? await loadTarget(tx, t.org_id, t.automation_id)
      : undefined
    const r = target
      ? await fireTrigger(engine, tx, {
          triggerId: t.id,
          target,
          key: `run:${run.id}`,
          source: 'AFTER_AUTOMATION',
          parameters: t.parameters,
          at,
        })
      : null
    const runId = r?.kind === 'FIRED' ? r.run.id : null
    await tx.query(
      `update triggers set last_evaluated_at = $2, last_fired_at = coalesce($4, last_fired_at),
         last_run_id = coalesce($3, last_run_id) where id = $1`,
      [t.id, at, runId, runId ? at : null],
    )
    const base = { orgId: t.org_id, automationId: t.automation_id, triggerId: t.id, at }
    const ended = `"${t.upstream}" run #${run.id} ended ${run.state}`
    if (runId) await recordEvents(tx, [{ ...base, kind: 'FIRED', runId, message: ended }])
    if (r?.kind === 'INVALID') {
      // Spend the key: this upstream end was handled (as an error), so the sweep leaves it alone.
      await tx.query(
        `insert into trigger_fires (trigger_id, fire_key, org_id, fired_at) values ($1, $2, $3, $4)
         on conflict do nothing`,
        [t.id, `run:${run.id}`, t.org_id, at],
      )
      await recordEvents(tx, [{ ...base, kind: 'ERROR', message: `${ended}; not fired: ${r.message}` }])
    }
  }
}

/**
 * Catch-up for the in-memory watch lists: an upstream run that ended while a
 * node's list was stale (a trigger saved a moment before, a NOTIFY lost) left
 * no fire record. The scheduler fires those here; the fire key (the upstream
 * run id) keeps each to once, whoever gets there first. Only runs that ended
 * after the trigger (or the automation's auto-triggers switch) was last saved,
 * within the lookback, are considered.
 */
export async function sweepFollowers(
  engine: Engine,
  db: Database,
  lookbackMs = 10 * 60_000,
): Promise<number> {
  const missed = await db.query<RunRow>(
    `select distinct ${runColumnsOf('r')} from triggers t
       join automations a on a.id = t.automation_id and a.deleted_at is null
       left join trigger_settings s on s.automation_id = t.automation_id
       join runs r on r.automation_id = t.watch_automation_id and r.org_id = t.org_id
      where t.type = 'AFTER_AUTOMATION' and t.enabled and coalesce(s.auto_triggers, true)
        and r.parent_run_id is null
        and r.finished_at > greatest(t.updated_at, s.updated_at, now() - make_interval(secs => $1::float8 / 1000))
        and case t.config->>'on'
              when 'ANY' then r.state in ('SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED')
              when 'FAILURE' then r.state in ('FAILED', 'TIMED_OUT')
              else r.state = 'SUCCEEDED' end
        and not exists (select 1 from trigger_fires f where f.trigger_id = t.id and f.fire_key = 'run:' || r.id)
      order by r.id limit 100`,
    [lookbackMs],
  )
  for (const run of missed) await db.transaction((tx) => fireFollowers(engine, tx, run))
  return missed.length
}
