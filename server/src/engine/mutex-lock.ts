import type { Queryable } from '../db/database'

export interface MutexState {
  holderRunId: string | null
  waiting: number
}

/**
 * Locks the mutex row (creating it on first use) until the transaction ends and
 * reports its holder and the number of waiters. Every change to a mutex goes
 * through here first, which serialises them across nodes.
 */
export async function lockMutex(tx: Queryable, orgId: string, name: string): Promise<MutexState> {
  // Sent together, one round trip: the server runs them in order, so the row exists when
  // the lock is taken. Run alone first, the insert would hold the lock one round trip longer.
  const creating = tx.query('insert into mutexes (org_id, name) values ($1, $2) on conflict do nothing', [
    orgId,
    name,
  ])
  const locking = tx.query<{ holder_run_id: string | null; waiting: number }>(
    `select m.holder_run_id,
       (select count(*)::int from run_queue w where w.org_id = m.org_id and w.mutex_name = m.name and w.state = 'WAITING') as waiting
     from mutexes m where m.org_id = $1 and m.name = $2 for update`,
    [orgId, name],
  )
  const [, [row]] = await Promise.all([creating, locking])
  return { holderRunId: row!.holder_run_id, waiting: row!.waiting }
}
