/**
 * run_queue mirrors, for every run that is not final, the runs columns that find work
 * (db/schema/runs.ts). It is kept by the statement that changes the run: every engine
 * statement that writes a run's state, lease, due time or deadline returns the changed
 * rows from a CTE, and queueSyncOf adds the CTEs that bring run_queue in line with
 * them, so the two tables cannot disagree at any commit. Row locks are always taken on
 * runs first, then on run_queue; only the claim locks queue rows first, and it skips
 * what is locked instead of waiting, so no order of the two can deadlock.
 */

/** States whose runs have a queue row. */
export const LIVE_STATES = "('QUEUED', 'WAITING', 'RUNNING')"

/**
 * CTEs that make run_queue match the rows of `rel` (a CTE returning changed runs, with at
 * least id, org_id, state, priority, run_at, mutex_name, lease_owner, lease_expires_at and
 * deadline_at): a live run's row is inserted or updated, a final run's row deleted. PostgreSQL
 * executes a data-modifying CTE whether or not the statement reads it.
 */
export function queueSyncOf(rel: string): string {
  return `queue_kept as (
      insert into run_queue (run_id, org_id, state, priority, run_at, mutex_name, lease_owner, lease_expires_at, deadline_at)
      select x.id, x.org_id, x.state, x.priority, x.run_at, x.mutex_name, x.lease_owner, x.lease_expires_at, x.deadline_at
      from ${rel} x where x.state in ${LIVE_STATES}
      on conflict (run_id) do update set state = excluded.state, priority = excluded.priority, run_at = excluded.run_at,
        mutex_name = excluded.mutex_name, lease_owner = excluded.lease_owner,
        lease_expires_at = excluded.lease_expires_at, deadline_at = excluded.deadline_at
    ), queue_left as (
      delete from run_queue q using ${rel} x where q.run_id = x.id and x.state not in ${LIVE_STATES}
    )`
}

/**
 * A statement that changes runs and returns their rows (`returning ${RUN_COLUMNS}`),
 * with run_queue kept in step; it returns the same rows.
 */
export const syncingQueue = (statement: string): string =>
  `with changed as (${statement}), ${queueSyncOf('changed')} select * from changed`
