import type { Database, Queryable } from '../db/database'
import { notifyRunChanges } from '../events/notify'
import { type RunRow, runColumnsOf } from './run-row'
import type { Claim } from './types'

/** Called in the claim transaction with the runs it moved to RUNNING (reporters queue START messages). */
export type StartedHook = (tx: Queryable, runs: readonly RunRow[]) => Promise<void>

/** Claims in a transaction of its own (see claimIn). */
export async function claimRuns(db: Database, next: ClaimRequest, onStarted?: StartedHook): Promise<Claim[]> {
  // A claim lost in a database crash only puts the run back in the queue (its lease
  // never existed), so the claim need not wait for its WAL flush: the claim statement
  // itself turns that off for its transaction (one round trip less than a SET).
  return db.transaction((tx) => claimIn(tx, next, onStarted, { asyncCommit: true }))
}

/** What a worker asks for: up to `limit` runs under a lease of `leaseMs`. */
export interface ClaimRequest {
  workerId: string
  limit: number
  leaseMs: number
}

/**
 * Claims up to `limit` due runs for this worker: by priority, then FIFO by due time,
 * skipping rows other workers are claiming right now, each under a lease the
 * heartbeat extends and with a fresh fencing token (claim_token). Runs in the
 * caller's transaction: a completion batch claims the worker's next runs with it.
 */
export async function claimIn(
  tx: Queryable,
  next: ClaimRequest,
  onStarted?: StartedHook,
  opts: { asyncCommit?: boolean } = {},
): Promise<Claim[]> {
  if (next.limit <= 0) return []
  // Evaluated once with the claimed rows; with none claimed there is nothing to commit.
  const asyncCommit = opts.asyncCommit ? ", (select set_config('synchronous_commit', 'off', true)) s" : ''
  const rows = await tx.query<RunRow>(
    `with c as (
         select id from runs where state = 'QUEUED' and run_at <= now()
         order by priority, run_at, id limit $2 for update skip locked
       )
       -- started_at is the moment of the claim (clock_timestamp), not of BEGIN
       update runs r set state = 'RUNNING', started_at = clock_timestamp(), lease_owner = $1,
         lease_expires_at = now() + make_interval(secs => $3::float8 / 1000),
         claim_token = nextval('run_claim_tokens'),
         deadline_at = case when r.timeout_ms is null then null else now() + make_interval(secs => r.timeout_ms::float8 / 1000) end
       from c${asyncCommit} where r.id = c.id
       returning ${runColumnsOf('r')}`,
    [next.workerId, next.limit, next.leaseMs],
  )
  rows.sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)))
  await notifyRunChanges(tx, rows)
  if (onStarted && rows.length > 0) await onStarted(tx, rows)
  return rows.map((run) => ({ run, token: run.claim_token! }))
}

/** Milliseconds until the next queued run is due (retries wait out a backoff), or null if none. */
export async function nextDueInMs(db: Database): Promise<number | null> {
  const [row] = await db.query<{ ms: number | null }>(
    `select extract(epoch from (min(run_at) - now())) * 1000 as ms from runs where state = 'QUEUED'`,
  )
  return row?.ms == null ? null : Math.max(0, Number(row.ms))
}
