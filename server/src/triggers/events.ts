import type { Queryable } from '../db/database'
import type { TriggerEventKind } from './domain'

export interface TriggerEvent {
  orgId: string
  automationId: string
  triggerId: string | null
  /** The scheduler's clock, not the database's: fake-time tests see their own times. */
  at: Date
  kind: TriggerEventKind
  message: string
  runId?: string | null
  scheduledAt?: Date | null
}

export interface TriggerEventRow {
  id: string
  trigger_id: string | null
  at: Date
  kind: TriggerEventKind
  message: string
  run_id: string | null
  scheduled_at: Date | null
}

/** Stores events (in the caller's transaction when given one). */
export async function recordEvents(q: Queryable, events: readonly TriggerEvent[]): Promise<void> {
  if (events.length === 0) return
  await q.query(
    `insert into trigger_events (org_id, automation_id, trigger_id, at, kind, message, run_id, scheduled_at)
     select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::text[], $6::text[],
       $7::int8[], $8::timestamptz[])`,
    [
      events.map((e) => e.orgId),
      events.map((e) => e.automationId),
      events.map((e) => e.triggerId),
      events.map((e) => e.at),
      events.map((e) => e.kind),
      events.map((e) => e.message),
      events.map((e) => e.runId ?? null),
      events.map((e) => e.scheduledAt ?? null),
    ],
  )
}

/** An automation's events, newest first, paged by id. */
export function listEvents(
  q: Queryable,
  opts: {
    orgId: string
    automationId: string
    triggerId?: string | null
    beforeId?: string | null
    limit: number
  },
): Promise<TriggerEventRow[]> {
  return q.query<TriggerEventRow>(
    `select id, trigger_id, at, kind, message, run_id, scheduled_at from trigger_events
     where org_id = $1 and automation_id = $2 and ($3::uuid is null or trigger_id = $3)
       and ($4::int8 is null or id < $4)
     order by id desc limit $5`,
    [opts.orgId, opts.automationId, opts.triggerId ?? null, opts.beforeId ?? null, opts.limit],
  )
}

/** Drops old history: fire keys outlive any window in which a tick could be handled again. */
export async function pruneHistory(
  q: Queryable,
  now: Date,
  keep: { firesMs: number; eventsMs: number },
): Promise<void> {
  await q.query('delete from trigger_fires where fired_at < $1', [new Date(now.getTime() - keep.firesMs)])
  await q.query('delete from trigger_events where at < $1', [new Date(now.getTime() - keep.eventsMs)])
}
