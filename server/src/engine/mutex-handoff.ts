import type { Queryable } from '../db/database'
import { announcedBy } from '../events/notify'
import { LIVE_STATES, queueSyncOf } from './run-queue'
import { RUN_COLUMNS, type RunRow } from './run-row'

/**
 * Hands a mutex from `holderRunId` (a finished run; null for a free mutex that has waiters)
 * to its first waiter (FIFO by enqueue order) in the caller's transaction, so no other run
 * can slip in between and no waiter is ever forgotten. Returns the run that now holds it,
 * for the caller to announce; the first waiters behind it (POSITION_UPDATES) are announced
 * here, in the statement: their rows did not change, but a subscriber watching them must
 * see their new place in line. Returns nothing if the mutex is not held by `holderRunId`;
 * with no waiter the mutex is left free.
 *
 * Two statements sent together, one round trip (a hand-off is the wait between two runs of
 * a mutex, W7): the first locks the mutex row, and only then does the second, with a
 * snapshot of its own, look for the first waiter. In one statement the waiter would be read
 * from a snapshot older than the lock, and a run queued behind the mutex by a transaction
 * that held the lock meanwhile would be left waiting for a holder that never comes.
 *
 * A holder must have ended, as seen by the second statement: a completion batch sends its
 * hand-offs with its first statements, before it knows which outcomes were applied, and a
 * run whose outcome was refused (its attempt superseded) keeps its mutex.
 */
export async function handOverMutex(
  tx: Queryable,
  orgId: string,
  name: string,
  holderRunId: string | null,
): Promise<RunRow[]> {
  const locking = tx.query('select 1 from mutexes where org_id = $1 and name = $2 for update', [orgId, name])
  // The waiters that moved up are announced by the statement itself: their rows did not
  // change, and read back as rows (a hundred of them, with every column) they made a
  // hand-off's reply 40 KB and its batch's announcements 13 KB (W7).
  const moved = announcedBy('moved')
  const handing = tx.query<RunRow>(
    `with holds as (
       -- The mutex is $3's to hand on: held by it (or free, for null), and $3 has ended.
       select 1 from mutexes where org_id = $1 and name = $2 and holder_run_id is not distinct from $3::int8
         and ($3::int8 is null or exists (select 1 from runs h where h.id = $3::int8 and h.state not in ${LIVE_STATES}))
     ), next as (
       update runs set state = 'QUEUED' where id = (
         select run_id from run_queue where org_id = $1 and mutex_name = $2 and state = 'WAITING' order by run_id limit 1
       ) and exists (select 1 from holds)
       returning ${RUN_COLUMNS}
     ), ${queueSyncOf('next')}, handed as (
       update mutexes set holder_run_id = (select id from next),
         acquired_at = case when exists (select 1 from next) then now() end
       where org_id = $1 and name = $2 and exists (select 1 from holds)
     ), moved as (
       -- This statement's snapshot still shows next as waiting: it is left out by id. Only
       -- a hand-off moves waiters up: a refused one (see above) announces nothing.
       select ${RUN_COLUMNS} from runs where exists (select 1 from next) and id = any(array(
         select run_id from run_queue where org_id = $1 and mutex_name = $2 and state = 'WAITING'
           and run_id <> (select id from next) order by run_id limit $4
       ))
     ), ${moved.cte}
     select * from next where ${moved.run}`,
    [orgId, name, holderRunId, POSITION_UPDATES],
  )
  const [, rows] = await Promise.all([locking, handing])
  return rows
}

/** How many waiters behind a hand-off are told their new place in line. */
const POSITION_UPDATES = 100
