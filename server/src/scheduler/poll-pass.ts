import type { DataServices } from '../data/services'
import type { Database } from '../db/database'
import type { Engine } from '../engine/engine'
import type { TriggerSource } from '../domain'
import { coerceError } from '../errors'
import type { SandboxPool } from '../sandbox'
import { POLLING_TYPES, type TriggerEventKind, type TriggerRow, triggerColumnsOf } from '../triggers/domain'
import { type TriggerEvent, recordEvents } from '../triggers/events'
import { fireTrigger, loadTarget } from '../triggers/fire'
import type { Warehouse } from '../warehouse/warehouse'

/** What one evaluation of a polling trigger concluded. */
export interface Evaluation {
  /** Stored on the trigger for the next evaluation (fingerprint, result hash, pending change). */
  state: Record<string, unknown>
  nextInMs: number
  fire: { parameters: Record<string, unknown>; message: string } | null
  events: { kind: TriggerEventKind; message: string }[]
}

export interface EvalContext {
  now: number
  db: Database
  warehouse: Warehouse
  sandbox: SandboxPool
  /** Opens datasources (their sealed connection strings); without it, triggers watch only the warehouse. */
  data: DataServices | undefined
}

export type Evaluator = (t: TriggerRow, ctx: EvalContext) => Promise<Evaluation>

export interface PollOptions {
  db: Database
  engine: Engine
  owner: string
  evaluators: Record<string, Evaluator>
  ctx: Omit<EvalContext, 'now'>
  /** Longer than any evaluation may take (query and script timeouts); then another scheduler may retry. */
  leaseMs: number
  batch: number
}

/**
 * Evaluates the polling triggers that are due. Each is leased first (in a
 * short transaction), evaluated outside any transaction (a query or a script
 * may take seconds), then written back only if the lease is still ours; the
 * run it fires commits with that write, under a unique key.
 */
export async function pollPass(o: PollOptions, now: number): Promise<number> {
  let fired = 0
  // Batch after batch until nothing due is left (each batch is evaluated in parallel).
  for (;;) {
    const { claimed, fired: n } = await pollBatch(o, now)
    fired += n
    if (claimed < o.batch) return fired
  }
}

async function pollBatch(o: PollOptions, now: number): Promise<{ claimed: number; fired: number }> {
  const claimed = await o.db.query<TriggerRow>(
    `update triggers u set lease_owner = $1, lease_until = $2
     from (select t.id from triggers t join automations a on a.id = t.automation_id and a.deleted_at is null
           left join trigger_settings s on s.automation_id = t.automation_id
           where t.type = any($3::text[]) and t.enabled and coalesce(s.auto_triggers, true)
             and t.next_check_at <= $4 and (t.lease_until is null or t.lease_until < $4)
           order by t.next_check_at limit $5 for update of t skip locked) due
     where u.id = due.id returning ${triggerColumnsOf('u')}`,
    [o.owner, new Date(now + o.leaseMs), POLLING_TYPES, new Date(now), o.batch],
  )
  const results = await Promise.all(claimed.map((t) => evaluate(o, t, now)))
  let fired = 0
  let failure: Error | undefined
  // Each trigger's conclusion stands alone: one failed write does not hold up the others
  // (its lease runs out and another pass evaluates it again).
  for (const [i, t] of claimed.entries()) {
    fired += await writeBack(o, t, results[i]!, now).catch((err) => {
      failure ??= coerceError(err)
      return 0
    })
  }
  if (failure) throw failure
  return { claimed: claimed.length, fired }
}

async function evaluate(o: PollOptions, t: TriggerRow, now: number): Promise<Evaluation> {
  const interval = Number((t.config as { intervalSeconds?: number }).intervalSeconds ?? 60) * 1000
  const previous = t.state ?? {}
  try {
    const e = await o.evaluators[t.type]!(t, { ...o.ctx, now })
    return { ...e, state: withoutKey(e.state, 'lastError') }
  } catch (err) {
    // The same error every interval is one event, not thousands: recorded when it changes.
    const message = coerceError(err).message.slice(0, 2000)
    const events = previous.lastError === message ? [] : [{ kind: 'ERROR' as const, message }]
    return { state: { ...previous, lastError: message }, nextInMs: interval, fire: null, events }
  }
}

async function writeBack(o: PollOptions, t: TriggerRow, e: Evaluation, now: number): Promise<number> {
  const at = new Date(now)
  return o.db.transaction(async (tx) => {
    const [mine] = await tx.query<{ id: string }>(
      `update triggers set state = $3::jsonb, next_check_at = $4, last_evaluated_at = $5,
         lease_owner = null, lease_until = null
       where id = $1 and lease_owner = $2 returning id`,
      [t.id, o.owner, JSON.stringify(e.state), new Date(now + e.nextInMs), at],
    )
    // Lost the lease (we were too slow, or the trigger was edited): our conclusion is void.
    if (!mine) return 0
    const base = { orgId: t.org_id, automationId: t.automation_id, triggerId: t.id, at }
    const events: TriggerEvent[] = e.events.map((x) => ({ ...base, ...x }))
    let fired = 0
    const target = e.fire ? await loadTarget(tx, t.org_id, t.automation_id) : undefined
    if (e.fire && target) {
      const r = await fireTrigger(o.engine, tx, {
        triggerId: t.id,
        target,
        key: `eval:${at.toISOString()}`,
        source: t.type as TriggerSource,
        parameters: { ...t.parameters, ...e.fire.parameters },
        at,
      })
      if (r.kind === 'INVALID') events.push({ ...base, kind: 'ERROR', message: `not fired: ${r.message}` })
      if (r.kind === 'FIRED') {
        fired = 1
        await tx.query('update triggers set last_fired_at = $2, last_run_id = $3 where id = $1', [
          t.id,
          at,
          r.run.id,
        ])
        events.push({ ...base, kind: 'FIRED', runId: r.run.id, message: e.fire.message })
      }
    }
    await recordEvents(tx, events)
    return fired
  })
}

function withoutKey(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _, ...rest } = o
  return rest
}
