import type { Queryable } from '../db/database'
import { syncingQueue } from './run-queue'
import { RUN_COLUMNS, type RunRow } from './run-row'
import { lockMutex } from './mutex-lock'

/**
 * Releases the mutex held by a finished run and hands it to the first waiter
 * (FIFO by enqueue order) in the same transaction, so no other run can slip in
 * between and no waiter is ever forgotten. Returns the run that now holds it.
 */
export async function releaseMutex(
  tx: Queryable,
  orgId: string,
  name: string,
  runId: string,
): Promise<RunRow | null> {
  const state = await lockMutex(tx, orgId, name)
  if (state.holderRunId !== runId) return null
  return promoteNext(tx, orgId, name)
}

/**
 * Gives a locked, free mutex to its first waiter, if any. The caller holds the mutex
 * row lock and announces the returned run (its QUEUED state wakes the workers).
 */
export async function promoteNext(tx: Queryable, orgId: string, name: string): Promise<RunRow | null> {
  const [next] = await tx.query<RunRow>(
    syncingQueue(`update runs set state = 'QUEUED' where id = (
       select run_id from run_queue where org_id = $1 and mutex_name = $2 and state = 'WAITING' order by run_id limit 1
     ) returning ${RUN_COLUMNS}`),
    [orgId, name],
  )
  await tx.query(
    'update mutexes set holder_run_id = $3, acquired_at = case when $3::int8 is null then null else now() end where org_id = $1 and name = $2',
    [orgId, name, next?.id ?? null],
  )
  return next ?? null
}

/** How many waiters behind a hand-off are told their new place in line. */
const POSITION_UPDATES = 100

/**
 * The waiters of a mutex that moved up a place, first first: their rows did not
 * change, but a subscriber watching them must see the new position.
 */
export async function movedUp(tx: Queryable, orgId: string, name: string): Promise<RunRow[]> {
  return tx.query<RunRow>(
    `select ${RUN_COLUMNS} from runs where id = any(array(
       select run_id from run_queue where org_id = $1 and mutex_name = $2 and state = 'WAITING' order by run_id limit $3
     )) order by id`,
    [orgId, name, POSITION_UPDATES],
  )
}
