import { queryRows } from '../data/datasources/postgres'
import { WAREHOUSE_ID } from '../data/domain'
import { type DataRunContext, bind, resolveDatasource } from '../data/load/sources'
import type { Queryable } from '../db/database'
import { coerceError } from '../errors'
import { resolveRunAs } from '../runs/run-as'
import { redactor } from '../secrets/references'
import { openSecretsForRun } from '../secrets/store'
import type { TriggerRow } from '../triggers/domain'
import type { EvalContext } from './poll-pass'

/** How long one trigger query may take; the poll lease leaves room for it. */
export const WATCH_TIMEOUT_MS = 30_000

/** One small read of a polling trigger (DATASET_CHANGE, SQL_CHANGE). */
export interface WatchRead {
  /** `warehouse` or a datasource id. */
  datasource: string
  statement: string
  /** What `${name}` in the statement binds. */
  values: Record<string, unknown>
}

/**
 * The user a polling trigger reads as: the one its automation's runs would run
 * as (its run-as user, else its creator; if that user is gone, the first admin).
 */
export async function watchUser(q: Queryable, t: TriggerRow): Promise<string | null> {
  const [a] = await q.query<{ run_as_user_id: string | null; created_by: string | null }>(
    'select run_as_user_id, created_by from automations where id = $1 and org_id = $2',
    [t.automation_id, t.org_id],
  )
  return a ? resolveRunAs(q, t.org_id, a) : null
}

/**
 * Runs a polling trigger's read in a read-only transaction, with the grants
 * its automation's runs have: the warehouse as the organization's role (which
 * runs need no grant for), a PostgreSQL datasource only when the run-as user
 * was granted it. Read-only, so a trigger query can never write.
 */
export async function readForTrigger(
  ctx: EvalContext,
  t: TriggerRow,
  r: WatchRead,
): Promise<Record<string, unknown>[]> {
  if (r.datasource === WAREHOUSE_ID) return readWarehouse(ctx, t.org_id, r)
  if (!ctx.data) {
    throw new Error('this scheduler was started without data services, so it cannot open datasources')
  }
  const data = ctx.data
  const opened = new Map<string, string>()
  // The same check runs make, so a trigger sees exactly what its runs could read.
  const d: DataRunContext = {
    data,
    run: {
      id: `trigger:${t.id}`,
      orgId: t.org_id,
      automationId: t.automation_id,
      attempt: 1,
      triggerSource: t.type,
      triggeredBy: null,
      runAs: await watchUser(ctx.db, t),
    },
    values: r.values,
    // The statement timeout bounds the read; nothing else cancels it.
    signal: new AbortController().signal,
    timeoutMs: WATCH_TIMEOUT_MS,
    log: () => {},
    // A trigger check is no run: the use is recorded on the automation, without a run.
    openSecrets: async (names) => {
      const more = await openSecretsForRun(
        ctx.db,
        data.secretsKey,
        { orgId: t.org_id, automationId: t.automation_id, runId: null },
        names,
      )
      for (const [k, v] of more) opened.set(k, v)
      return more
    },
  }
  const ds = await resolveDatasource(d, r.datasource)
  if (ds.type !== 'POSTGRES') {
    throw new Error(`datasource "${ds.name}" is a file; a trigger watches a storage or a PostgreSQL table`)
  }
  const { text, params } = bind(r.statement, r.values)
  try {
    return await queryRows(ds.url, text, params, {
      name: ds.name,
      timeoutMs: WATCH_TIMEOUT_MS,
      signal: d.signal,
      egress: d.data.egress,
    })
  } catch (err) {
    // What the trigger records of a failure never shows a secret its connection string used.
    if (opened.size === 0) throw err
    throw new Error(redactor(opened)(coerceError(err).message))
  }
}

async function readWarehouse(ctx: EvalContext, orgId: string, r: WatchRead) {
  const { text, params } = bind(r.statement, r.values)
  return ctx.warehouse.session(orgId, { timeoutMs: WATCH_TIMEOUT_MS }, (s) =>
    // atomic: one transaction on the embedded database too, so the mode holds for the query.
    s.atomic(async (q) => {
      await q.query('set transaction read only')
      return q.query<Record<string, unknown>>(text, params)
    }),
  )
}
