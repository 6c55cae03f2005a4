import type { Queryable } from '../db/database'
import { RUN_COLUMNS, type RunRow } from './run-row'

/**
 * Releases the mutex held by a finished run and hands it to the first waiter
 * (FIFO by enqueue order) in the same transaction, so no other run can slip in
 * between and no waiter is ever forgotten. Returns the run that now holds it, then
 * the waiters that moved up a place (their rows did not change, but a subscriber
 * watching them must see the new position); nothing if the run did not hold it.
 *
 * Two statements: the lock first, on its own, so the hand-off's snapshot is taken after
 * it and sees every waiter queued by whoever held the lock before (one statement would
 * read the waiters as of its start, before it waited for the lock, and could miss one).
 */
export async function releaseMutex(
  tx: Queryable,
  orgId: string,
  name: string,
  runId: string,
): Promise<RunRow[]> {
  const [held] = await tx.query<{ holder_run_id: string | null }>(
    'select holder_run_id from mutexes where org_id = $1 and name = $2 for update',
    [orgId, name],
  )
  if (held?.holder_run_id !== runId) return []
  const rows = await tx.query<RunRow & { moved: boolean }>(
    `with next as (
       update runs set state = 'QUEUED' where id = (
         select id from runs where org_id = $1 and mutex_name = $2 and state = 'WAITING' order by id limit 1
       ) returning ${RUN_COLUMNS}
     ), holder as (
       update mutexes set holder_run_id = (select id from next),
         acquired_at = case when exists (select 1 from next) then now() end
       where org_id = $1 and name = $2
     ), moved as (
       select ${RUN_COLUMNS} from runs where org_id = $1 and mutex_name = $2 and state = 'WAITING'
         and id <> all (select id from next)
       order by id limit $3
     )
     select false as moved, * from next union all (select true, * from moved)`,
    [orgId, name, POSITION_UPDATES],
  )
  // The promoted run first (there is none when nobody waited), then the others in line.
  rows.sort((a, b) => (a.moved === b.moved ? Number(BigInt(a.id) - BigInt(b.id)) : a.moved ? 1 : -1))
  return rows.map(({ moved: _, ...run }) => run as RunRow)
}

/**
 * Gives a locked, free mutex to its first waiter, if any. The caller holds the mutex
 * row lock and announces the returned run (its QUEUED state wakes the workers).
 */
export async function promoteNext(tx: Queryable, orgId: string, name: string): Promise<RunRow | null> {
  const [next] = await tx.query<RunRow>(
    `update runs set state = 'QUEUED' where id = (
       select id from runs where org_id = $1 and mutex_name = $2 and state = 'WAITING' order by id limit 1
     ) returning ${RUN_COLUMNS}`,
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
