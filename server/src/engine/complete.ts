import { backoffMs } from '../automations/definition'
import type { Database, Queryable } from '../db/database'
import { HeldNotifications, notifyRunChanges } from '../events/notify'
import { handOverMutex } from './mutex-handoff'
import { queueSyncOf, syncingQueue } from './run-queue'
import { type ChildRow, type RunRow, childColumnsOf, runColumnsOf } from './run-row'
import type { ChildReading, Claim, Ended, Foreseen, LockedParents, Outcome, RunOps } from './types'
import { setBounded } from '../bounded-map'

/**
 * How many outcomes of a batch were applied, how many refused as stale (token no longer
 * current), and the runs claimed with it for the same worker.
 */
export interface Completion {
  applied: number
  rejected: number
  claims: Claim[]
}

/** What a completion batch calls back into the engine for. */
export interface CompletionHooks {
  /** Lets an orchestrating kind start a run that gave up its lease. */
  orchestrate(tx: Queryable, run: RunRow): Promise<RunRow[]>
  /** Claims the worker's next runs at the end of the batch. */
  claimNext?(tx: Queryable, opts: { last: boolean }): Promise<Claim[]>
  reading?: ChildReading
  /**
   * Sends, without waiting, the reads of the children the ended runs' parents are likely to
   * start, and draws their ids (see foreseeChildren): they travel with the batch's first statements.
   */
  foresee?(tx: Queryable, ended: readonly Ended[]): Map<string, Foreseen>
  /** Whether the parent's move-on will read its children (see readsChildrenFor); yes without it. */
  readsChildren?(parentId: string, ended: readonly Ended[]): boolean
}

/**
 * Records a batch of outcomes in one transaction. An outcome is applied only if
 * its claim token is still the run's current one: a worker whose lease was
 * recovered (and whose run may be executing again elsewhere) can never overwrite
 * the newer attempt. Failures with attempts left go back to the queue after a
 * backoff, keeping their mutex, and the failed attempt is kept in run_attempts.
 */
export async function completeRuns(
  ops: RunOps,
  db: Database,
  outcomes: readonly Outcome[],
  hooks: CompletionHooks,
): Promise<Completion> {
  const reading: ChildReading = hooks.reading ?? { kinds: [], seen: new Map() }
  if (outcomes.length === 0) return { applied: 0, rejected: 0, claims: [] }
  return db.transaction(async (raw) => {
    // Announcements are sent together at the end (see HeldNotifications).
    const tx = new HeldNotifications(raw)
    // Asynchronous commit: if the database crashes before this reaches disk, the run is
    // still RUNNING under an expiring lease and recovery retries it. Runs are executed at
    // least once either way; what must never be lost, enqueues, still commits synchronously.
    const asyncCommit = "select set_config('synchronous_commit', 'off', true)"
    // Every row this batch changes first, in id order (a parent's id is below its children's):
    // each child's follow-up locks its parent, a cancel locks the parent before its children,
    // heartbeats lock in id order too; any other order lets two of them deadlock. The parents
    // are read as locked, so moving them on below need not read them again.
    const parents = new Set(
      outcomes.flatMap((o) => (o.claim.run.parent_run_id ? [o.claim.run.parent_run_id] : [])),
    )
    const ids = [...new Set([...parents, ...outcomes.map((o) => o.claim.run.id)])]
    const locking =
      parents.size > 0
        ? tx.query<RunRow>(
            `select ${runColumnsOf('r')} from runs r, (${asyncCommit}) s
             where r.id = any($1::int8[]) order by r.id for update of r`,
            [ids],
          )
        : tx.query(asyncCommit).then((): RunRow[] => [])
    const final: Ended[] = []
    const retry: Ended[] = []
    const orchestrating: Claim[] = []
    for (const o of outcomes) {
      if ('orchestrate' in o) orchestrating.push(o.claim)
      else if (
        (o.state === 'FAILED' || o.state === 'TIMED_OUT') &&
        o.claim.run.attempt < o.claim.run.max_attempts
      )
        retry.push(o)
      else final.push(o)
    }
    // In id order, like every other writer of these rows (heartbeats lock in id order):
    // updated in the order outcomes arrived, a batch and a heartbeat deadlocked.
    final.sort(byRunId)
    retry.sort(byRunId)
    let applied = 0
    // Sent with the lock, without waiting for its answer (one round trip for both): the
    // server still runs them in order, so the update finds its rows locked already.
    const ending =
      final.length > 0
        ? tx.query<RunRow>(
            // A cancel reaches the worker as a bare NOTIFY; the reason (who or which policy) is in cancel_requested.
            `with ended as (
               update runs r set state = c.state, outputs = c.outputs::jsonb, finished_at = clock_timestamp(),
                 error = case when c.state = 'CANCELLED' then coalesce(r.cancel_requested, c.error) else c.error end,
                 lease_owner = null, lease_expires_at = null
               from (select unnest($1::int8[]) as id, unnest($2::int8[]) as token, unnest($3::text[]) as state,
                            unnest($4::text[]) as outputs, unnest($5::text[]) as error) c
               where r.id = c.id and r.state = 'RUNNING' and r.claim_token = c.token
               returning ${runColumnsOf('r')}
             ), dequeued as (
               -- Final: the run leaves the queue (its runs row was locked first, above).
               delete from run_queue q using ended x where q.run_id = x.id
             )
             select * from ended`,
            [
              final.map((o) => o.claim.run.id),
              final.map((o) => o.claim.token),
              final.map((o) => o.state),
              final.map((o) => (o.outputs ? JSON.stringify(o.outputs) : null)),
              final.map((o) => o.error ?? null),
            ],
          )
        : Promise.resolve([])
    // Third in the same round trip: the children of parents whose kind moves on by reading
    // them all (WORKFLOW; see ChildReading). It runs after the lock, so it sees what the
    // lock waited for.
    const readers = [...parents].filter((id) => {
      const kind = reading.seen.get(id)?.kind
      if (kind === undefined) return reading.kinds.length > 0
      return reading.kinds.includes(kind) && (hooks.readsChildren?.(id, final) ?? true)
    })
    const childrenRead =
      readers.length > 0
        ? tx.query<ChildRow>(
            // The parents are found by their primary key first, so the plan does not hang on
            // the table's statistics: joined instead, a young table's estimates made it scan
            // all runs once per child.
            `select ${childColumnsOf('c')} from runs c
             where c.parent_run_id in (select p.id from runs p where p.id = any($1::int8[]) and p.kind = any($2::text[]))
             order by c.step, c.id`,
            [readers, reading.kinds],
          )
        : Promise.resolve([])
    // Fourth: what the parents will likely start next (a chain's next step), resolved now
    // instead of in a round trip of its own once they have decided.
    const foreseen =
      hooks.foresee && parents.size > 0 ? hooks.foresee(tx, final) : new Map<string, Foreseen>()
    // Fifth: each ending run's mutex handed to its first waiter, guarded by the run having
    // ended, so a run whose outcome is refused above keeps it (see handOverMutex). Sent now,
    // a hand-off (W7) costs no round trip of its own.
    const handed = new Map<string, Promise<RunRow[]>>()
    for (const { claim } of final) {
      const { id, org_id: orgId, mutex_name: mutex } = claim.run
      if (!mutex) continue
      const handing = handOverMutex(tx, orgId, mutex, id)
      // A failure is the transaction's (settledTransaction); nobody awaits a refused run's.
      handing.catch(() => {})
      handed.set(id, handing)
    }
    const [locked, rows, children] = await Promise.all([locking, ending, childrenRead])
    const lockedParents: LockedParents = new Map()
    for (const row of locked) {
      if (!parents.has(row.id)) continue
      lockedParents.set(row.id, { row, foreseen: foreseen.get(row.id) })
      setBounded(reading.seen, row.id, { kind: row.kind, versionId: row.version_id }, KINDS_REMEMBERED)
    }
    for (const child of children) {
      const entry = lockedParents.get(child.parent_run_id!)
      if (!entry) continue
      entry.children ??= []
      entry.children.push(child)
    }
    if (final.length > 0) {
      applied += rows.length
      const changed: RunRow[] = [...rows]
      changed.push(...(await ops.followUps(tx, rows, lockedParents, handed)))
      await notifyRunChanges(tx, changed)
    }
    if (retry.length > 0) applied += await requeue(ops, tx, retry)
    for (const claim of orchestrating) {
      const released = await release(tx, claim)
      if (!released) continue
      applied++
      await notifyRunChanges(tx, await hooks.orchestrate(tx, released))
    }
    // Last, so the children and followers this batch queued can be among them: a chain's
    // next step starts without a wake-up and a claim transaction of its own.
    // Either carries the COMMIT with it (QueryOptions.last): nothing is sent after them.
    const claims = hooks.claimNext ? await hooks.claimNext(tx, { last: true }) : []
    await tx.send({ last: true })
    return { applied, rejected: outcomes.length - applied, claims }
  })
}

async function requeue(ops: RunOps, tx: Queryable, retry: Ended[]): Promise<number> {
  const delays: number[] = []
  for (const o of retry) {
    const def = await ops.definition(tx, o.claim.run.version_id)
    delays.push(backoffMs(def.retry.backoffMs, o.claim.run.attempt + 1))
  }
  const rows = await tx.query<RunRow>(
    `with failed as (
       select r.id, r.org_id, r.attempt, r.lease_owner, r.started_at, c.state, c.outputs, c.error, c.delay
       from runs r
       join (select unnest($1::int8[]) as id, unnest($2::int8[]) as token, unnest($3::text[]) as state,
                    unnest($4::text[]) as outputs, unnest($5::text[]) as error, unnest($6::int[]) as delay) c
         on r.id = c.id and r.claim_token = c.token
       where r.state = 'RUNNING'
       for update of r
     ), kept as (
       -- The failed attempt keeps its own outcome; the run row moves on to the next attempt.
       insert into run_attempts (run_id, attempt, org_id, state, worker, started_at, outputs, error)
       select id, attempt, org_id, state, lease_owner, started_at, outputs::jsonb, error from failed
     ), changed as (
       update runs r set state = 'QUEUED', attempt = r.attempt + 1, error = f.error, outputs = null,
         run_at = now() + make_interval(secs => f.delay::float8 / 1000), lease_owner = null,
         lease_expires_at = null, claim_token = null, started_at = null
       from failed f where r.id = f.id
       returning ${runColumnsOf('r')}
     ), ${queueSyncOf('changed')}
     select * from changed`,
    [
      retry.map((o) => o.claim.run.id),
      retry.map((o) => o.claim.token),
      retry.map((o) => o.state),
      retry.map((o) => (o.outputs ? JSON.stringify(o.outputs) : null)),
      retry.map((o) => o.error ?? null),
      delays,
    ],
  )
  await notifyRunChanges(tx, rows)
  return rows.length
}

/**
 * An orchestrating run (CHAIN) gives up its lease, fenced like any completion:
 * its kind's orchestrator then starts its first children in the same transaction,
 * and from then on their completions move it on.
 */
async function release(tx: Queryable, claim: Claim): Promise<RunRow | undefined> {
  const [row] = await tx.query<RunRow>(
    syncingQueue(`update runs r set lease_owner = null, lease_expires_at = null, claim_token = null
     where r.id = $1 and r.state = 'RUNNING' and r.claim_token = $2 returning ${runColumnsOf('r')}`),
    [claim.run.id, claim.token],
  )
  return row
}

const byRunId = (a: Ended, b: Ended): number => {
  const d = BigInt(a.claim.run.id) - BigInt(b.claim.run.id)
  return d < 0n ? -1 : d > 0n ? 1 : 0
}

/** Parents whose kind a node remembers (ChildReading.seen). */
const KINDS_REMEMBERED = 10_000
