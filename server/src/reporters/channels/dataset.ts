import { z } from 'zod'
import type { Queryable } from '../../db/database'
import { StorageName, quoteIdent } from '../../data/identifiers'
import { touchStorage } from '../../data/storages/catalog'
import type { Warehouse } from '../../warehouse/warehouse'
import { defineChannel } from './channel'

/** A storage row: column name → SQL type, and the values to append. */
export interface DatasetRow {
  orgId: string
  storage: string
  /** In order; created with the table on first use. */
  columns: readonly { name: string; type: string }[]
  values: readonly unknown[]
  /** The row is appended once per value of this column (a retried delivery does not write twice). */
  dedupeColumn: string
  runId: string
  automationId: string
  signal: AbortSignal
}

/**
 * Appends one row to a storage of the organization's warehouse (created on first use), as
 * the organization's role, at most once per `dedupeColumn` value. ALARM's STORAGE reporters
 * write through this too.
 */
export async function appendRow(warehouse: Warehouse, db: Queryable, r: DatasetRow): Promise<void> {
  const table = quoteIdent(r.storage)
  const dedupeAt = r.columns.findIndex((c) => c.name === r.dedupeColumn)
  if (dedupeAt < 0) throw new Error(`dedupe column ${r.dedupeColumn} is not a column`)
  const names = r.columns.map((c) => quoteIdent(c.name)).join(', ')
  const params = r.columns.map((c, i) => `$${i + 1}::${c.type}`).join(', ')
  await warehouse.session(r.orgId, { timeoutMs: 30_000, signal: r.signal }, (s) =>
    s.atomic(async (q) => {
      await q.query(
        `create table if not exists ${table} (${r.columns.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ')})`,
      )
      await q.query(
        `insert into ${table} (${names}) select ${params}
          where not exists (select 1 from ${table} where ${quoteIdent(r.dedupeColumn)} = $${dedupeAt + 1}::${r.columns[dedupeAt]!.type})`,
        r.values,
      )
    }),
  )
  await touchStorage(db, {
    orgId: r.orgId,
    name: r.storage,
    runId: r.runId,
    automationId: r.automationId,
    rowCount: null,
  })
}

const COLUMNS = [
  { name: 'reported_at', type: 'timestamptz' },
  { name: 'delivery', type: 'text' },
  { name: 'automation_id', type: 'uuid' },
  { name: 'automation', type: 'text' },
  { name: 'run_id', type: 'bigint' },
  { name: 'event', type: 'text' },
  { name: 'state', type: 'text' },
  { name: 'error', type: 'text' },
  { name: 'message', type: 'text' },
] as const

interface Ctx {
  automation: { id: string; name: string }
  run: { id: string; state: string; error: string | null }
  event: string
}

export const dataset = defineChannel({
  type: 'DATASET',
  /** Nothing to configure: the organization's own warehouse. */
  connectionSchema: z.object({}).default({}),
  targetSchema: z.object({ storage: StorageName }),
  templateMode: 'plain',
  defaultTemplate:
    '{{ automation.name }} run #{{ run.id }} {% if event == "START" %}started{% else %}ended {{ run.state }} after {{ run.duration }}{% endif %}',
  templatesOf: () => ({}),
  async send(_conn, target, m, services) {
    const c = m.context as unknown as Ctx
    await appendRow(services.warehouse, services.db, {
      orgId: m.orgId,
      storage: target.storage,
      columns: COLUMNS,
      values: [
        new Date().toISOString(),
        m.deliveryKey,
        c.automation.id,
        c.automation.name,
        c.run.id,
        c.event,
        c.run.state,
        c.run.error,
        m.body,
      ],
      dedupeColumn: 'delivery',
      runId: c.run.id,
      automationId: c.automation.id,
      signal: m.signal,
    })
    return { responseCode: null, detail: `row in storage ${target.storage}` }
  },
  async test(_conn, _target, m, services) {
    await services.warehouse.session(m.orgId, { timeoutMs: 10_000, signal: m.signal }, (s) =>
      s.query('select 1'),
    )
    return { responseCode: null, detail: "the organization's warehouse answers" }
  },
})
