import type { Database, Queryable } from '../db/database'
import { HeldNotifications, announcedBy, notifyRunChanges } from '../events/notify'
import { type RunRow, runColumnsOf } from './run-row'
import type { Claim } from './types'

/** Called in the claim transaction with the runs it moved to RUNNING (reporters queue START messages). */
export type StartedHook = (tx: Queryable, runs: readonly RunRow[]) => Promise<void>

/**
 * Claims on its own (see claimIn). A claim lost in a database crash only puts the run back
 * in the queue (its lease never existed), so it need not wait for its WAL flush: the claim
 * statement turns that off for its own transaction. With no started hook to call, the claim
 * is one statement that announces its runs itself, sent without BEGIN and COMMIT.
 */
export async function claimRuns(db: Database, next: ClaimRequest, onStarted?: StartedHook): Promise<Claim[]> {
  if (!onStarted) return claimIn(db, next, undefined, { asyncCommit: true, announce: true })
  return db.transaction((tx) => claimIn(tx, next, onStarted, { asyncCommit: true }))
}

/** What a worker asks for: up to `limit` runs under a lease of `leaseMs`. */
export interface ClaimRequest {
  workerId: string
  limit: number
  leaseMs: number
  /**
   * The limit is the worker's whole claim (every slot free, or a full batch): the number an
   * idle worker asks for every time, so its claim is planned once (see claimLimit).
   */
  whole?: boolean
}

/**
 * Claims up to `limit` due runs for this worker: by priority, then FIFO by due time,
 * skipping rows other workers are claiming right now, each under a lease the
 * heartbeat extends and with a fresh fencing token (claim_token). Runs in the
 * caller's transaction: a completion batch claims the worker's next runs with it.
 *
 * The claim announces its runs itself, in its own statement, unless a started hook must
 * see them first. In a completion batch it also carries the batch's held announcements
 * (see HeldNotifications), sent before its own, and the batch's wake-up, sent only if a
 * run the batch queued is left unclaimed: the batch's last statement, not two. `last` says
 * the caller sends nothing after the claim: then, unless a started hook must still see
 * the claimed runs, the claim carries its transaction's COMMIT.
 */
export async function claimIn(
  tx: Queryable,
  next: ClaimRequest,
  onStarted?: StartedHook,
  opts: { asyncCommit?: boolean; announce?: boolean; last?: boolean } = {},
): Promise<Claim[]> {
  if (next.limit <= 0) return []
  const limit = claimLimit(next.limit)
  const held = tx instanceof HeldNotifications && !onStarted ? tx.take() : undefined
  const announce = opts.announce === true || held !== undefined
  const params: unknown[] = held
    ? [next.workerId, next.leaseMs, held.payloads, held.queued]
    : [next.workerId, next.leaseMs]
  // See claimLimit: a large or whole claim's limit is part of the statement, a small one is bound.
  const limitSql = limit >= LITERAL_LIMITS_FROM || next.whole ? String(limit) : `$${params.push(limit)}`
  // Evaluated once with the claimed rows; with none claimed there is nothing to commit.
  const asyncCommit = opts.asyncCommit ? ", (select set_config('synchronous_commit', 'off', true)) s" : ''
  const announced = announce
    ? announcedBy('claimed', held ? { payloads: '$3', queued: '$4' } : undefined)
    : undefined
  const rows = await tx.query<RunRow>(
    // Due runs are found in run_queue. Both rows are locked, skipping any that another
    // claim (queue row) or a writer of the run (runs row, taken before its queue row) holds:
    // the claim never waits. Ids go from one CTE to the next: a join of the two tables would
    // be planned from their statistics, and the planner then probes both indexes for their
    // actual bounds, past every dead entry a burn-down leaves at their low end.
    `with due as (
         select run_id from run_queue where state = 'QUEUED' and run_at <= now()
         order by priority, run_at, run_id limit ${limitSql} for update skip locked
       ), c as (
         select id from runs where id = any(array(select run_id from due)) and state = 'QUEUED'
         for update skip locked
       ), claimed as (
         -- started_at is the moment of the claim (clock_timestamp), not of BEGIN
         update runs r set state = 'RUNNING', started_at = clock_timestamp(), lease_owner = $1,
           lease_expires_at = now() + make_interval(secs => $2::float8 / 1000),
           claim_token = nextval('run_claim_tokens'),
           deadline_at = case when r.timeout_ms is null then null else now() + make_interval(secs => r.timeout_ms::float8 / 1000) end
         from c${asyncCommit} where r.id = c.id
         returning ${runColumnsOf('r')}
       ), queue_claimed as (
         update run_queue q set state = 'RUNNING', lease_owner = x.lease_owner,
           lease_expires_at = x.lease_expires_at, deadline_at = x.deadline_at
         from claimed x where q.run_id = x.id
       )${announced ? `, ${announced.cte} select * from claimed where ${announced.run}` : ' select * from claimed'}`,
    params,
    // With nothing left to send after it, its COMMIT goes with it (see QueryOptions.last).
    { last: opts.last === true && announce && !onStarted },
  )
  rows.sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)))
  if (!announce) await notifyRunChanges(tx, rows)
  if (onStarted && rows.length > 0) await onStarted(tx, rows)
  return rows.map((run) => ({ run, token: run.claim_token! }))
}

/** From this many runs on, a claim's limit is written into its statement (see claimLimit). */
const LITERAL_LIMITS_FROM = 50

/**
 * The most a claim of up to `wanted` runs takes. Bound as a parameter, the limit makes
 * PostgreSQL plan the claim again at every execution (the generic plan of LIMIT $n assumes
 * 10% of the queue, so it looks costlier than any custom one): 0.3-0.5 ms of planning per
 * claim, a tenth of the machine in a burn-down. A large claim therefore has its limit
 * written into the statement, rounded down to 50, 100, 200, 500, 1,000, … so the prepared
 * variants stay few, and is planned once. So is a worker's whole claim (ClaimRequest.whole),
 * one number per worker: an idle worker's claim after a wake-up, a chain's next step claimed
 * by the batch that queued it (planning it took 0.07 ms on an idle machine, 0.6 ms in a
 * burn-down, of a chain step's 2-3 ms). Any other small one (a
 * busy worker's last free slots, where a due scheduled run waits for each extra round trip)
 * stays exact and bound.
 */
export function claimLimit(wanted: number): number {
  if (!Number.isInteger(wanted) || wanted < 1)
    throw new Error(`a claim wants a positive integer of runs, not ${wanted}`)
  if (wanted < LITERAL_LIMITS_FROM) return wanted
  const decade = 10 ** Math.floor(Math.log10(wanted))
  const step = wanted / decade
  return decade * (step >= 5 ? 5 : step >= 2 ? 2 : 1)
}

/** Milliseconds until the next queued run is due (retries wait out a backoff), or null if none. */
export async function nextDueInMs(db: Database): Promise<number | null> {
  const [row] = await db.query<{ ms: number | null }>(
    `select extract(epoch from (min(run_at) - now())) * 1000 as ms from run_queue where state = 'QUEUED'`,
  )
  return row?.ms == null ? null : Math.max(0, Number(row.ms))
}
