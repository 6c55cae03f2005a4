import type { Queryable } from '../../db/database'
import type { CheckOutcome } from '../domain'

export interface CheckResultRow {
  id: string
  org_id: string
  automation_id: string
  run_id: string | null
  name: string
  outcome: CheckOutcome
  value: number | null
  message: string
  blocking: boolean
  checked_at: Date
}

const COLUMNS =
  'id::text, org_id, automation_id, run_id::text, name, outcome, value, message, blocking, checked_at'

export interface NewCheckResult {
  name: string
  outcome: CheckOutcome
  value: number | null
  message: string
  blocking: boolean
}

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
    'select value from check_results where org_id = $1 and automation_id = $2 and name = $3 order by id desc limit 1',
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
  return q.query<CheckResultRow>(
    `select * from (select distinct on (automation_id, name) ${COLUMNS} from check_results
       where org_id = $1 and ($2::uuid is null or automation_id = $2)
       order by automation_id, name, id desc) latest
     where $3::text is null or outcome = $3 order by automation_id, name limit 1000`,
    [orgId, f.automationId ?? null, f.outcome ?? null],
  )
}

export function checkHistory(
  q: Queryable,
  c: { orgId: string; automationId: string; name: string },
  first: number,
): Promise<CheckResultRow[]> {
  return q.query<CheckResultRow>(
    `select ${COLUMNS} from check_results where org_id = $1 and automation_id = $2 and name = $3 order by id desc limit $4`,
    [c.orgId, c.automationId, c.name, first],
  )
}
