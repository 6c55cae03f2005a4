import type { Queryable } from '../db/database'
import { HeldNotifications, announcedBy, announcesInStatement, notifyRunChanges } from '../events/notify'
import { handOverMutex } from './mutex-handoff'
import { lockMutex } from './mutex-lock'
import { queueSyncOf, syncingQueue } from './run-queue'
import { RUN_COLUMNS, type RunRow } from './run-row'
import type { Enqueued, NewRun, RunOps } from './types'

export type { Enqueued, NewRun } from './types'

/**
 * Inserts a run inside the caller's transaction and applies its mutex policy.
 * Mutex state only changes under the mutex row's lock, so two nodes enqueueing
 * at once still agree on who holds it and who waits. `last`: the caller sends nothing
 * after this in its transaction (engine.enqueue), so the run's INSERT may carry the COMMIT.
 */
export async function enqueueRun(
  ops: RunOps,
  tx: Queryable,
  r: NewRun,
  opts: { last?: boolean } = {},
): Promise<Enqueued> {
  const mutex = r.definition.mutex
  const last = opts.last === true
  // With no mutex, queueing is one statement that announces itself, which needs no
  // transaction of its own (engine.enqueue sends it alone).
  if (!mutex) return { run: await queueRun(tx, r, 'QUEUED', null, { last }), skipped: false }
  const state = await lockMutex(tx, r.orgId, mutex.name)
  const busy = state.holderRunId !== null || state.waiting > 0
  const changed: RunRow[] = []
  if (busy && mutex.policy === 'SKIP') {
    const error = `mutex "${mutex.name}" was busy (policy SKIP)`
    return { run: await queueRun(tx, r, 'SKIPPED', error, { last }), skipped: true }
  }
  // Whether a policy below may change the holder or the waiters: the mutex is read again.
  let acted = false
  if (busy && mutex.policy === 'REPLACE_QUEUED') {
    acted = true
    changed.push(
      ...(await tx.query<RunRow>(
        syncingQueue(`update runs set state = 'CANCELLED', finished_at = clock_timestamp(), error = 'replaced by a newer run (mutex policy REPLACE_QUEUED)'
         where id = any(array(select run_id from run_queue where org_id = $1 and mutex_name = $2 and state = 'WAITING'))
           and state = 'WAITING' returning ${RUN_COLUMNS}`),
        [r.orgId, mutex.name],
      )),
    )
  }
  if (state.holderRunId !== null && mutex.policy === 'CANCEL_RUNNING') {
    // A holder that had not started yet ends at once and may hand the mutex on, so look again below.
    acted = true
    await ops.cancel(tx, state.holderRunId, 'cancelled by a newer run (mutex policy CANCEL_RUNNING)')
  }
  let fresh = acted ? await lockMutex(tx, r.orgId, mutex.name) : state
  if (fresh.holderRunId === null && fresh.waiting > 0) {
    // Never leave waiters behind a free mutex: serve them first, then queue behind them
    // (the first now holds it; those behind it are told their new place).
    changed.push(...(await handOverMutex(tx, r.orgId, mutex.name, null)))
    fresh = await lockMutex(tx, r.orgId, mutex.name)
  }
  const free = fresh.holderRunId === null
  // The INSERT takes the mutex if it is free: with nothing changed before it and nothing
  // after it, the mutex row stays locked for one round trip (a hand-off waits for it, W7).
  const run = await queueRun(tx, r, free ? 'QUEUED' : 'WAITING', null, {
    before: changed,
    takes: free ? mutex.name : undefined,
    last,
  })
  return { run, skipped: false }
}

/**
 * Inserts a run and announces it after `before` (rows this enqueue changed first). With
 * nothing before it, outside a completion batch (whose announcements are held), the INSERT
 * announces itself, and with `last` also carries the COMMIT: no NOTIFY or COMMIT round trip.
 */
async function queueRun(
  tx: Queryable,
  r: NewRun,
  state: string,
  error: string | null,
  { before = [], takes, last }: { before?: RunRow[]; takes?: string | undefined; last: boolean },
): Promise<RunRow> {
  const announce = before.length === 0 && announcesInStatement(tx)
  const run = await insertRun(tx, r, state, error, { announce, takes, last: announce && last })
  if (!announce) await notifyRunChanges(tx, [...before, run])
  return run
}

/**
 * Queues a mutex-free run under an id drawn ahead (drawRunIds) in a transaction whose
 * announcements are held (a completion batch), without waiting for its INSERT. All its
 * announcement carries is known before the INSERT answers (id, organization, automation,
 * parent; QUEUED, attempt 1, not started), so it is held at once, and the batch's next
 * statement, the claim that may take this very run, goes out right behind the INSERT in
 * the same round trip. A failed INSERT still fails the transaction: settledTransaction
 * waits for every statement it sent and reports the first failure. Returns the id used.
 */
export async function enqueueAhead(
  tx: Queryable,
  r: NewRun,
  aheadId: () => Promise<string | undefined>,
): Promise<string | undefined> {
  if (r.definition.mutex || !(tx instanceof HeldNotifications)) return undefined
  const id = await aheadId()
  if (!id) return undefined
  // Its failure is the transaction's (see above), not this promise's.
  insertRun(tx, r, 'QUEUED', null, { id }).catch(() => {})
  tx.hold([
    {
      id,
      org_id: r.orgId,
      automation_id: r.automationId,
      state: 'QUEUED',
      parent_run_id: r.parentRunId ?? null,
      attempt: 1,
      started_at: null,
      finished_at: null,
      error: null,
    },
  ])
  return id
}

interface InsertOptions {
  /** The statement announces the run itself (see announcedBy). */
  announce?: boolean
  /** An id drawn ahead (enqueueAhead); otherwise the column default draws one. */
  id?: string | undefined
  /** The mutex the run takes as it is inserted (free, and locked by the caller). */
  takes?: string | undefined
  /** Nothing follows in the transaction: the statement carries the COMMIT (QueryOptions.last). */
  last?: boolean | undefined
}

async function insertRun(
  tx: Queryable,
  r: NewRun,
  state: string,
  error: string | null,
  { announce, id, takes, last }: InsertOptions = {},
): Promise<RunRow> {
  const final = state === 'SKIPPED'
  const announced = announce ? announcedBy('inserted') : undefined
  const params: unknown[] = [
    r.orgId,
    r.automationId,
    r.versionId,
    r.version,
    r.definition.kind,
    state,
    r.triggerSource,
    r.triggeredBy,
    r.runAs,
    r.embedTokenId ?? null,
    r.parentRunId ?? null,
    r.step ?? null,
    r.definition.retry.maxAttempts,
    JSON.stringify(r.parameters),
    r.definition.mutex?.name ?? null,
    r.definition.timeoutMs,
    error,
    final,
    r.priority ?? 0,
    r.runAt ? r.runAt.toISOString() : null,
    r.stepItem ?? null,
    r.parentAttempt ?? null,
  ]
  const idValue = id ? `$${params.push(id)}::int8, ` : ''
  // Executed whether or not the statement reads it (a data-modifying CTE always is).
  const taking = takes
    ? `, took as (update mutexes set holder_run_id = (select id from inserted), acquired_at = now()
         where org_id = $1 and name = $${params.push(takes)})`
    : ''
  const [run] = await tx.query<RunRow>(
    `with inserted as (insert into runs (${id ? 'id, ' : ''}org_id, automation_id, version_id, version, kind, state, trigger_source, triggered_by, run_as,
       embed_token_id, parent_run_id, step, max_attempts, parameters, mutex_name, timeout_ms, error, finished_at, priority, run_at,
       step_item, parent_attempt)
     values (${idValue}$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15, $16, $17,
       case when $18::boolean then clock_timestamp() end, $19, coalesce($20::timestamptz, now()), $21, $22)
     returning ${RUN_COLUMNS}), ${queueSyncOf('inserted')}${taking}${announced ? `, ${announced.cte} select * from inserted where ${announced.run}` : ' select * from inserted'}`,
    params,
    { last: last === true },
  )
  return run!
}
