import type { Database } from '../db/database'
import type { Engine } from '../engine/engine'
import { coerceError, isConnectionError } from '../errors'
import type { CronConfig } from '../triggers/config'
import { nextTick } from '../triggers/cron'
import { type TriggerRow, triggerColumnsOf } from '../triggers/domain'
import { recordEvents } from '../triggers/events'
import { type CronTiming, LIVE_CRON, handleChunk } from './cron-chunk'

export type { CronTiming }

/** Triggers per transaction: enough for a hundred schedules due in the same second to cost one commit. */
const CHUNK = 200
// Worth another try as they are, rather than stepping over a tick.
const RETRYABLE = new Set(['40001', '40P01', '55P03'])

/** Handles every CRON trigger due by `now` (or by `now + lookahead` when it may fire ahead). */
export async function cronPass(
  engine: Engine,
  db: Database,
  now: number,
  timing: CronTiming,
): Promise<number> {
  let fired = 0
  for (;;) {
    let r: { handled: number; fired: number }
    try {
      r = await db.transaction((tx) => handleChunk(engine, tx, now, timing, { limit: CHUNK }))
    } catch (err) {
      const e = coerceError(err)
      if (isConnectionError(e) || RETRYABLE.has((e as { code?: string }).code ?? '')) throw e
      r = await oneByOne(engine, db, now, timing)
    }
    fired += r.fired
    if (r.handled < CHUNK) return fired
  }
}

/** After a failed chunk: each due trigger in its own transaction, to find the one at fault. */
async function oneByOne(engine: Engine, db: Database, now: number, timing: CronTiming) {
  const ids = await db.query<{ id: string }>(
    `select t.id ${LIVE_CRON} and t.next_fire_at <= $1 and (t.fire_early or t.next_fire_at <= $2)
     order by t.next_fire_at limit $3`,
    [new Date(now + timing.lookaheadMs), new Date(now), CHUNK],
  )
  const total = { handled: 0, fired: 0 }
  for (const { id } of ids) {
    try {
      const r = await db.transaction((tx) => handleChunk(engine, tx, now, timing, { limit: 1, ids: [id] }))
      total.handled += r.handled
      total.fired += r.fired
    } catch (err) {
      const e = coerceError(err)
      if (isConnectionError(e)) throw e
      await stepOver(db, id, now, e)
    }
  }
  // Never report a full chunk from here: the caller's loop ends.
  return { handled: 0, fired: total.fired }
}

/**
 * A trigger whose handling fails for a reason other than the connection would
 * fail again at once: record why and move its cursor past the tick, so one bad
 * trigger neither spins the scheduler nor holds up the others.
 */
async function stepOver(db: Database, id: string, now: number, err: Error): Promise<void> {
  await db.transaction(async (tx) => {
    const [t] = await tx.query<TriggerRow>(
      `select ${triggerColumnsOf('t')} from triggers t where t.id = $1 for update`,
      [id],
    )
    if (!t?.next_fire_at) return
    const cfg = t.config as CronConfig
    const next = nextTick(cfg.cron, cfg.timezone, new Date(Math.max(now, t.next_fire_at.getTime())))
    await tx.query('update triggers set next_fire_at = $2, last_evaluated_at = $3 where id = $1', [
      id,
      next,
      new Date(now),
    ])
    await recordEvents(tx, [
      {
        orgId: t.org_id,
        automationId: t.automation_id,
        triggerId: t.id,
        at: new Date(now),
        kind: 'ERROR',
        scheduledAt: t.next_fire_at,
        message: `tick not fired: ${err.message}`,
      },
    ])
  })
}

/** When the next CRON trigger needs a pass (ms since the epoch), or null when none is scheduled. */
export async function nextCronWake(db: Database, lookaheadMs: number): Promise<number | null> {
  const [row] = await db.query<{ at: Date | null }>(
    `select min(case when t.fire_early then t.next_fire_at - make_interval(secs => $1::float8 / 1000)
       else t.next_fire_at end) as at ${LIVE_CRON} and t.next_fire_at is not null`,
    [lookaheadMs],
  )
  return row?.at ? new Date(row.at).getTime() : null
}
