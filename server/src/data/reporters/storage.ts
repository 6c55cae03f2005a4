import { quoteIdent } from '../identifiers'
import type { DataServices } from '../services'
import { touchStorage } from '../storages/catalog'
import type { ReportMessage, ReporterSpec } from './types'

const COLUMNS = `triggered_at timestamptz, automation_id uuid, automation text, run_id bigint, message text,
  value double precision, threshold double precision, operator text`

/**
 * Appends the message as a row of a storage (created on first use), as the organization's role.
 * At most one row per run: a retried attempt (another reporter failed) does not write it twice.
 */
export async function writeToStorage(
  data: DataServices,
  spec: Extract<ReporterSpec, { type: 'STORAGE' }>,
  m: ReportMessage,
  signal: AbortSignal,
): Promise<string> {
  const table = quoteIdent(spec.storage)
  await data.warehouse.session(m.organizationId, { timeoutMs: 30_000, signal }, (s) =>
    s.atomic(async (q) => {
      await q.query(`create table if not exists ${table} (${COLUMNS})`)
      await q.query(
        `insert into ${table} (triggered_at, automation_id, automation, run_id, message, value, threshold, operator)
         select $1, $2, $3, $4, $5, $6, $7, $8
          where not exists (select 1 from ${table} where run_id = $4::bigint)`,
        [m.triggeredAt, m.automationId, m.automation, m.runId, m.message, m.value, m.threshold, m.operator],
      )
    }),
  )
  await touchStorage(data.db, {
    orgId: m.organizationId,
    name: spec.storage,
    runId: m.runId,
    automationId: m.automationId,
    rowCount: null,
  })
  return `STORAGE ${spec.storage}`
}
