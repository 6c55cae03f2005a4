import { selectList } from '../../db/columns'
import type { Queryable } from '../../db/database'
import { checkResults } from '../../db/schema'
import type { CheckOutcome } from '../domain'
import type { HistoryPage } from '../history-page'

/**
 * A stored check result as raw queries return it: the table's own row type,
 * except that int8 columns arrive as strings on both drivers.
 */
export type CheckResultRow = Omit<typeof checkResults.$inferSelect, 'id' | 'runId'> & {
  id: string
  runId: string | null
}

// Ordering is always by `c.id`, the bigserial itself: an `id::text` column under
// the name `id` once made "9" sort after "10" and showed an older run as the latest.
const COLUMNS = selectList(checkResults, 'c')

export type NewCheckResult = Pick<CheckResultRow, 'name' | 'outcome' | 'value' | 'message' | 'blocking'>

/** Appends evaluated checks to the check history. */
export async function recordChecks(
  q: Queryable,
  r: { orgId: string; automationId: string; runId: string },
  results: readonly NewCheckResult[],
): Promise<void> {
  if (results.length === 0) return
  await q.query(
    `insert into check_results (org_id, automation_id, run_id, name, outcome, value, message, blocking)
     select $1, $2, $3, n, o, v, m, b
     from unnest($4::text[], $5::text[], $6::float8[], $7::text[], $8::boolean[]) as x(n, o, v, m, b)`,
    [
      r.orgId,
      r.automationId,
      r.runId,
      results.map((c) => c.name),
      results.map((c) => c.outcome),
      results.map((c) => c.value),
      results.map((c) => c.message),
      results.map((c) => c.blocking),
    ],
  )
}

/** The last recorded value of a check, for CHANGE rules on custom SQL. */
export async function previousCheckValue(
  q: Queryable,
  orgId: string,
  automationId: string,
  name: string,
): Promise<number | null | undefined> {
  const [row] = await q.query<{ value: number | null }>(
    `select c.value from check_results c where c.org_id = $1 and c.automation_id = $2 and c.name = $3
     order by c.id desc limit 1`,
    [orgId, automationId, name],
  )
  return row ? row.value : undefined
}

/** The latest result of each check, optionally of one automation or one outcome. */
export function latestChecks(
  q: Queryable,
  orgId: string,
  f: { automationId?: string | null; outcome?: CheckOutcome | null },
): Promise<CheckResultRow[]> {
  // The outcome filter applies to the latest result only, so it sits outside the distinct on.
  return q.query<CheckResultRow>(
    `select * from (select distinct on (c.automation_id, c.name) ${COLUMNS} from check_results c
       where c.org_id = $1 and ($2::uuid is null or c.automation_id = $2)
       order by c.automation_id, c.name, c.id desc) latest
     where $3::text is null or latest.outcome = $3 order by latest."automationId", latest.name limit 1000`,
    [orgId, f.automationId ?? null, f.outcome ?? null],
  )
}

/** A check's results, newest first, paged by id like metric history. */
export function checkHistory(
  q: Queryable,
  c: { orgId: string; automationId: string; name: string },
  page: HistoryPage,
): Promise<CheckResultRow[]> {
  return q.query<CheckResultRow>(
    `select ${COLUMNS} from check_results c
     where c.org_id = $1 and c.automation_id = $2 and c.name = $3 and ($5::int8 is null or c.id < $5)
     order by c.id desc limit $4`,
    [c.orgId, c.automationId, c.name, page.first, page.before],
  )
}
