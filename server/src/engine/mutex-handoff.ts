import type { Queryable } from '../db/database'
import { queueSyncOf, syncingQueue } from './run-queue'
import { RUN_COLUMNS, type RunRow } from './run-row'

/**
 * Releases the mutex held by a finished run and hands it to the first waiter (FIFO by
 * enqueue order) in the same transaction, so no other run can slip in between and no
 * waiter is ever forgotten. Returns the run that now holds it, then the first waiters
 * behind it (POSITION_UPDATES): their rows did not change, but a subscriber watching them
 * must see their new place in line. Returns nothing if the run did not hold the mutex.
 *
 * Two statements sent together, one round trip (a hand-off is the wait between two runs of
 * a mutex, W7): the first locks the mutex row, and only then does the second, with a
 * snapshot of its own, look for the first waiter. In one statement the waiter would be read
 * from a snapshot older than the lock, and a run queued behind the mutex by a transaction
 * that held the lock meanwhile would be left waiting for a holder that never comes.
 */
export async function releaseMutex(
  tx: Queryable,
  orgId: string,
  name: string,
  runId: string,
): Promise<RunRow[]> {
  const locking = tx.query('select 1 from mutexes where org_id = $1 and name = $2 for update', [orgId, name])
  const handing = tx.query<RunRow & { handoff_order: number }>(
    `with next as (
       update runs set state = 'QUEUED' where id = (
         select run_id from run_queue where org_id = $1 and mutex_name = $2 and state = 'WAITING' order by run_id limit 1
       ) and exists (select 1 from mutexes where org_id = $1 and name = $2 and holder_run_id = $3)
       returning ${RUN_COLUMNS}
     ), ${queueSyncOf('next')}, handed as (
       update mutexes set holder_run_id = (select id from next),
         acquired_at = case when exists (select 1 from next) then now() end
       where org_id = $1 and name = $2 and holder_run_id = $3
     ), moved as (
       -- This statement's snapshot still shows next as waiting: it is left out by id.
       select ${RUN_COLUMNS} from runs where id = any(array(
         select run_id from run_queue where org_id = $1 and mutex_name = $2 and state = 'WAITING'
           and run_id <> (select id from next) order by run_id limit $4
       ))
     )
     select 0 as handoff_order, * from next
     union all select 1, * from moved
     order by handoff_order, id`,
    [orgId, name, runId, POSITION_UPDATES],
  )
  const [, rows] = await Promise.all([locking, handing])
  return rows.map(({ handoff_order: _, ...run }) => run as RunRow)
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
