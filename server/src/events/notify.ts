import type { QueryOptions, Queryable } from '../db/database'
import { Channel, EVENT_ERROR_MAX, type LogEventTuple, type RunEventTuple, packPayloads } from './channels'

/** A run row as far as events need it. */
export interface RunChange {
  id: string
  org_id: string
  automation_id: string
  state: string
  parent_run_id: string | null
  attempt: number
  started_at: Date | null
  finished_at: Date | null
  error: string | null
}

const millis = (d: Date | string | null): number | null => (d === null ? null : new Date(d).getTime())

/**
 * Announces run changes inside the caller's transaction: PostgreSQL delivers
 * them at commit, so a listener never sees a state that was rolled back. A run
 * that became QUEUED also wakes the workers, in the same round trip.
 */
export async function notifyRunChanges(
  tx: Queryable,
  changes: readonly RunChange[],
  alsoWake = changes.some((c) => c.state === 'QUEUED'),
): Promise<void> {
  if (tx instanceof HeldNotifications) return tx.hold(changes)
  const tuples = changes.map(eventTuple)
  const messages: [string, string][] = packPayloads(tuples).map((p) => [Channel.RUN, p])
  if (alsoWake) messages.push([Channel.WAKE, ''])
  await notifyMany(tx, messages)
}

/**
 * A transaction's run announcements held back and sent in one statement at its end,
 * in order. A completion batch that claims its worker's next runs uses it: the wake-up
 * goes out only if a run queued in the transaction is still unclaimed at the end, so a
 * chain's next step, claimed in the same transaction, does not wake every worker to an
 * empty claim (and the batch sends one NOTIFY statement instead of three).
 */
export class HeldNotifications implements Queryable {
  readonly #changes: RunChange[] = []
  readonly #unclaimed = new Set<string>()
  constructor(readonly tx: Queryable) {}

  query<T = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    opts?: QueryOptions,
  ): Promise<T[]> {
    return this.tx.query<T>(text, params, opts)
  }

  hold(changes: readonly RunChange[]): void {
    for (const c of changes) {
      this.#changes.push(c)
      if (c.state === 'QUEUED') this.#unclaimed.add(c.id)
      else this.#unclaimed.delete(c.id)
    }
  }

  /**
   * Hands what was held to the statement that will send it (a claim that announces itself):
   * the run payloads, in order, and the runs queued and not claimed so far.
   */
  take(): { payloads: string[]; queued: string[] } {
    const taken = { payloads: packPayloads(this.#changes.map(eventTuple)), queued: [...this.#unclaimed] }
    this.#changes.length = 0
    this.#unclaimed.clear()
    return taken
  }

  /** Sends what was held; call it last in the transaction (see QueryOptions.last). */
  async send(opts?: QueryOptions): Promise<void> {
    const { payloads, queued } = this.take()
    const messages: [string, string][] = payloads.map((p) => [Channel.RUN, p])
    if (queued.length > 0) messages.push([Channel.WAKE, ''])
    await notifyMany(this.tx, messages, opts)
  }
}

function eventTuple(c: RunChange): RunEventTuple {
  return [
    c.id,
    c.org_id,
    c.automation_id,
    c.state,
    c.parent_run_id,
    c.attempt,
    millis(c.started_at),
    millis(c.finished_at),
    c.error === null ? null : c.error.slice(0, EVENT_ERROR_MAX),
  ]
}

/** False inside a completion batch, whose announcements are held and sent at its end. */
export const announcesInStatement = (tx: Queryable): boolean => !(tx instanceof HeldNotifications)

/**
 * notifyRunChanges as part of the statement that makes the changes, for a change that is a
 * statement of its own (no BEGIN, no COMMIT, no NOTIFY round trip): `cte` is a CTE to add
 * after the one named `rel`, which returns changed rows, and `run` a condition for the
 * outer SELECT over `rel` that makes PostgreSQL evaluate it (an unreferenced CTE is not; a
 * condition on no row is a one-time filter, evaluated even when `rel` is empty).
 * Each row becomes the tuple eventTuple() makes, packed in payloads of at most ~4,000 bytes
 * plus one tuple (an error escaped to its longest stays under 3,100), so none passes 8,000.
 * `carried` names the parameters of a transaction's held announcements (HeldNotifications
 * .take()): its payloads go first, and its wake-up if one of its queued runs is not in `rel`.
 */
export function announcedBy(
  rel: string,
  carried?: { payloads: string; queued: string },
): { cte: string; run: string } {
  const tuple = `json_build_array(x.id::text, x.org_id::text, x.automation_id::text, x.state,
      x.parent_run_id::text, x.attempt, floor(extract(epoch from x.started_at) * 1000)::int8,
      floor(extract(epoch from x.finished_at) * 1000)::int8, left(x.error, ${EVENT_ERROR_MAX}))::text`
  const before = carried
    ? `select 0 as part, h.i as chunk, '${Channel.RUN}' as channel, h.p as payload
       from unnest(${carried.payloads}::text[]) with ordinality h(p, i)
       union all`
    : ''
  const unclaimed = carried
    ? ` or exists (select 1 from unnest(${carried.queued}::int8[]) u(id) where u.id not in (select q.id from ${rel} q))`
    : ''
  return {
    cte: `announced as (
      select pg_notify(m.channel, m.payload) from (
        ${before}
        select 1 as part, p.chunk, '${Channel.RUN}' as channel, '[' || string_agg(p.t, ',' order by p.id) || ']' as payload
        from (select e.id, e.t, (sum(octet_length(e.t) + 1) over (order by e.id)) / 4000 as chunk
              from (select x.id, ${tuple} as t from ${rel} x) e) p
        group by p.chunk
        union all
        select 2, 0, '${Channel.WAKE}', ''
        where exists (select 1 from ${rel} q where q.state = 'QUEUED')${unclaimed}
      ) m order by m.part, m.chunk
    )`,
    run: '(select count(*) from announced) >= 0',
  }
}

/** Sends several notifications in one round trip, in order. */
export async function notifyMany(
  tx: Queryable,
  messages: readonly [string, string][],
  opts?: QueryOptions,
): Promise<void> {
  if (messages.length === 0) return
  if (messages.length === 1) {
    await tx.query('select pg_notify($1, $2)', messages[0]!, opts)
    return
  }
  await tx.query(
    'select pg_notify(m.c, m.p) from unnest($1::text[], $2::text[]) with ordinality as m(c, p, i) order by m.i',
    [messages.map((m) => m[0]), messages.map((m) => m[1])],
    opts,
  )
}

export async function notifyWake(tx: Queryable): Promise<void> {
  await tx.query('select pg_notify($1, $2)', [Channel.WAKE, ''])
}

export async function notifyCancel(tx: Queryable, runId: string): Promise<void> {
  await tx.query('select pg_notify($1, $2)', [Channel.CANCEL, runId])
}

export async function notifyLogs(tx: Queryable, tuples: readonly LogEventTuple[]): Promise<void> {
  for (const payload of packPayloads(tuples)) {
    await tx.query('select pg_notify($1, $2)', [Channel.LOG, payload])
  }
}
