import type { Database } from '../db/database'
import type { Claim } from './types'

/**
 * Extends this worker's leases, each only while its claim token is current.
 * Returns, per run still ours, whether a cancel was requested: the worker acts on
 * that stored request, never on a notification alone.
 */
export async function heartbeat(
  db: Database,
  claims: readonly Claim[],
  leaseMs: number,
): Promise<Map<string, { cancelRequested: string | null }>> {
  if (claims.length === 0) return new Map()
  const rows = await db.query<{ id: string; cancel_requested: string | null }>(
    // Rows are locked in id order, as completions lock them (complete.ts): two transactions
    // that take locks in one order cannot deadlock.
    `with locked as (select id from runs where id = any($1::int8[]) order by id for update),
     beat as (
       update runs r set lease_expires_at = now() + make_interval(secs => $3::float8 / 1000)
       from (select unnest($1::int8[]) as id, unnest($2::int8[]) as token) c
       where r.id = c.id and r.id in (select id from locked) and r.claim_token = c.token and r.state = 'RUNNING'
       returning r.id, r.cancel_requested, r.lease_expires_at
     ), queue_beat as (
       update run_queue q set lease_expires_at = b.lease_expires_at from beat b where q.run_id = b.id
     )
     select id, cancel_requested from beat`,
    [claims.map((c) => c.run.id), claims.map((c) => c.token), leaseMs],
  )
  return new Map(rows.map((r) => [r.id, { cancelRequested: r.cancel_requested }]))
}

/** The stored cancel requests of runs this worker executes (after a cancel NOTIFY). */
export async function cancelRequests(db: Database, claims: readonly Claim[]): Promise<Map<string, string>> {
  if (claims.length === 0) return new Map()
  const rows = await db.query<{ id: string; cancel_requested: string }>(
    `select r.id, r.cancel_requested from runs r
     join (select unnest($1::int8[]) as id, unnest($2::int8[]) as token) c on r.id = c.id and r.claim_token = c.token
     where r.cancel_requested is not null`,
    [claims.map((c) => c.run.id), claims.map((c) => c.token)],
  )
  return new Map(rows.map((r) => [r.id, r.cancel_requested]))
}
