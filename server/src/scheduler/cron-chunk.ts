import type { Definition } from '../automations/definition'
import { resolveParameters } from '../automations/parameters'
import type { Queryable } from '../db/database'
import { FINAL_STATES } from '../domain'
import { coerceError } from '../errors'
import { resolveRunAs } from '../runs/run-as'
import type { CronConfig } from '../triggers/config'
import { type TriggerRow, triggerColumnsOf } from '../triggers/domain'
import { type TriggerEvent, recordEvents } from '../triggers/events'
import { decide, lateMessage } from './cron-decide'
import type { Engine } from '../engine/engine'
import type { ScheduledRun } from '../engine/enqueue-many'
import { SCHEDULED_PRIORITY } from '../engine/types'
import { planTicks } from './ticks'

export interface CronTiming {
  lookaheadMs: number
  misfireMs: number
  lateMs: number
}

type DueRow = TriggerRow & {
  run_as_user_id: string | null
  created_by_user: string | null
  version_id: string
  version: number
  definition: Definition
}

/** Live CRON triggers: enabled, automation not deleted, its auto-triggers switch on. */
export const LIVE_CRON = `from triggers t join automations a on a.id = t.automation_id and a.deleted_at is null
  left join trigger_settings s on s.automation_id = t.automation_id
  where t.type = 'CRON' and t.enabled and coalesce(s.auto_triggers, true)`

interface Fire {
  t: DueRow
  at: Date
  catchUp: boolean
  waited: boolean
  key: string
  runAs: string | null
}

/**
 * Handles up to `limit` due CRON triggers in the caller's transaction, locked
 * with SKIP LOCKED (another scheduler takes the others). Every tick to fire
 * first claims its key (ON CONFLICT DO NOTHING), then all runs are queued
 * together, then cursors move on: the keys, runs and cursors commit as one.
 */
export async function handleChunk(
  engine: Engine,
  tx: Queryable,
  now: number,
  timing: CronTiming,
  opts: { limit: number; ids?: string[] },
): Promise<{ handled: number; fired: number }> {
  const at = new Date(now)
  const due = await tx.query<DueRow>(
    `select ${triggerColumnsOf('t')}, a.run_as_user_id, a.created_by as created_by_user, v.id as version_id,
       v.version, v.definition
     from triggers t join automations a on a.id = t.automation_id and a.deleted_at is null
       join automation_versions v on v.id = a.current_version_id
       left join trigger_settings s on s.automation_id = t.automation_id
     where t.type = 'CRON' and t.enabled and coalesce(s.auto_triggers, true)
       and t.next_fire_at <= $1 and (t.fire_early or t.next_fire_at <= $2) and ($3::uuid[] is null or t.id = any($3))
     order by t.next_fire_at limit $4 for update of t skip locked`,
    [new Date(now + timing.lookaheadMs), at, opts.ids ?? null, opts.limit],
  )
  if (due.length === 0) return { handled: 0, fired: 0 }
  const watched = due.filter((t) => (t.config as CronConfig).overlapPolicy !== 'ALLOW' && t.last_run_id)
  const active = new Set(
    watched.length === 0
      ? []
      : (
          await tx.query<{ id: string }>(
            'select id from runs where id = any($1::int8[]) and not (state = any($2::text[]))',
            [watched.map((t) => t.last_run_id), FINAL_STATES],
          )
        ).map((r) => r.id),
  )
  const runAsCache = new Map<string, Promise<string | null>>()
  const runAsOf = (t: DueRow) => {
    const key = `${t.org_id}:${t.run_as_user_id}:${t.created_by_user}`
    let p = runAsCache.get(key)
    if (!p) {
      p = resolveRunAs(tx, t.org_id, { run_as_user_id: t.run_as_user_id, created_by: t.created_by_user })
      runAsCache.set(key, p)
    }
    return p
  }

  const events: TriggerEvent[] = []
  const fires: Fire[] = []
  const cursor = new Map<string, { next: Date | null; early: boolean; pending: Date | null }>()
  for (const t of due) {
    const cfg = t.config as CronConfig
    // Ahead of time only when nothing is decided at start: no overlap rule, no mutex.
    const early = cfg.overlapPolicy === 'ALLOW' && !t.definition.mutex
    const plan = planTicks({
      cron: cfg.cron,
      timezone: cfg.timezone,
      cursor: t.next_fire_at!,
      now,
      horizon: early ? now + timing.lookaheadMs : now,
      misfireMs: timing.misfireMs,
      policy: cfg.missedTickPolicy,
    })
    const d = decide(plan, cfg, {
      active: active.has(t.last_run_id ?? ''),
      lastRunId: t.last_run_id,
      pending: t.pending_fire_at,
    })
    const base = { orgId: t.org_id, automationId: t.automation_id, triggerId: t.id, at }
    events.push(...d.events.map((e) => ({ ...base, ...e })))
    cursor.set(t.id, { next: plan.next, early, pending: d.pending })
    const runAs = d.fire.length > 0 ? await runAsOf(t) : null
    for (const tick of d.fire)
      fires.push({
        t,
        at: tick.at,
        catchUp: tick.catchUp,
        waited: tick.waited === true,
        key: tick.at.toISOString(),
        runAs,
      })
  }

  const claimed = new Set(
    fires.length === 0
      ? []
      : (
          await tx.query<{ trigger_id: string; fire_key: string }>(
            `insert into trigger_fires (trigger_id, fire_key, org_id, scheduled_at, fired_at)
         select u.*, $5::timestamptz from unnest($1::uuid[], $2::text[], $3::uuid[], $4::timestamptz[]) as u
         on conflict do nothing returning trigger_id, fire_key`,
            [
              fires.map((f) => f.t.id),
              fires.map((f) => f.key),
              fires.map((f) => f.t.org_id),
              fires.map((f) => f.at),
              at,
            ],
          )
        ).map((r) => `${r.trigger_id} ${r.fire_key}`),
  )
  const toRun: { f: Fire; run: ScheduledRun }[] = []
  for (const f of fires) {
    if (!claimed.has(`${f.t.id} ${f.key}`)) continue
    const base = {
      orgId: f.t.org_id,
      automationId: f.t.automation_id,
      triggerId: f.t.id,
      at,
      scheduledAt: f.at,
    }
    try {
      const parameters = resolveParameters(f.t.definition.parameters, f.t.parameters)
      toRun.push({
        f,
        run: {
          orgId: f.t.org_id,
          automationId: f.t.automation_id,
          versionId: f.t.version_id,
          version: f.t.version,
          definition: f.t.definition,
          triggerSource: 'SCHEDULE',
          triggeredBy: null,
          runAs: f.runAs,
          parameters,
          runAt: f.at.getTime() > now ? f.at : null,
          priority: SCHEDULED_PRIORITY,
        },
      })
    } catch (err) {
      events.push({ ...base, kind: 'ERROR', message: `tick not fired: ${coerceError(err).message}` })
    }
  }
  const queued = await engine.enqueueManyIn(
    tx,
    toRun.map((r) => r.run),
  )
  const last = new Map<string, string>()
  const late = new Map<string, Date[]>()
  queued.forEach(({ run, skipped }, i) => {
    const { f } = toRun[i]!
    last.set(f.t.id, run.id)
    const base = {
      orgId: f.t.org_id,
      automationId: f.t.automation_id,
      triggerId: f.t.id,
      at,
      scheduledAt: f.at,
      runId: run.id,
    }
    if (skipped) events.push({ ...base, kind: 'SKIPPED', message: run.error ?? 'mutex busy' })
    if (f.catchUp) events.push({ ...base, kind: 'CAUGHT_UP', message: 'missed tick fired now' })
    else if (f.waited) {
      const message = `tick waited for run #${f.t.last_run_id} to end; fired by the scheduler's pass after it ended`
      events.push({ ...base, kind: 'FIRED', message })
    } else if (now - f.at.getTime() > timing.lateMs) late.set(f.t.id, [...(late.get(f.t.id) ?? []), f.at])
  })
  for (const t of due) {
    const ticks = late.get(t.id)
    if (!ticks) continue
    const base = { orgId: t.org_id, automationId: t.automation_id, triggerId: t.id, at }
    events.push({ ...base, kind: 'LATE', scheduledAt: ticks[0], message: lateMessage(ticks, now) })
  }
  if (toRun.length > 0)
    await tx.query(
      `update trigger_fires f set run_id = u.run_id
     from unnest($1::uuid[], $2::text[], $3::int8[]) as u(trigger_id, fire_key, run_id)
     where f.trigger_id = u.trigger_id and f.fire_key = u.fire_key`,
      [toRun.map((r) => r.f.t.id), toRun.map((r) => r.f.key), queued.map((q) => q.run.id)],
    )
  await tx.query(
    `update triggers t set next_fire_at = u.next, fire_early = u.early, pending_fire_at = u.pending,
       last_evaluated_at = $1, last_fired_at = case when u.run_id is null then t.last_fired_at else $1 end,
       last_run_id = coalesce(u.run_id, t.last_run_id)
     from unnest($2::uuid[], $3::timestamptz[], $4::boolean[], $5::timestamptz[], $6::int8[])
       as u(id, next, early, pending, run_id)
     where t.id = u.id`,
    [
      at,
      due.map((t) => t.id),
      due.map((t) => cursor.get(t.id)!.next),
      due.map((t) => cursor.get(t.id)!.early),
      due.map((t) => cursor.get(t.id)!.pending),
      due.map((t) => last.get(t.id) ?? null),
    ],
  )
  await recordEvents(tx, events)
  return { handled: due.length, fired: queued.length }
}
