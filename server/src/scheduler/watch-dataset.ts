import { WAREHOUSE_ID } from '../data/domain'
import { quoteIdent, quoteQualified } from '../data/identifiers'
import type { DatasetChangeConfig } from '../triggers/config'
import type { TriggerRow } from '../triggers/domain'
import type { EvalContext, Evaluation } from './poll-pass'
import { readForTrigger } from './watch-source'

interface DatasetState {
  fingerprint?: string
  /** A change seen at `since` (ms), waiting out the grace delay. */
  pending?: { since: number; fingerprint: string }
}

/**
 * A cheap fingerprint of a warehouse storage or a datasource table, read as
 * the automation's run-as user would: row count plus the max of a column, or
 * the table's statistics counters (no scan at all; PostgreSQL updates them
 * within a second or so). The same statements on both, so the same fingerprint.
 */
export async function fingerprint(ctx: EvalContext, t: TriggerRow, c: DatasetChangeConfig): Promise<string> {
  const datasource = c.datasource ?? WAREHOUSE_ID
  const where = datasource === WAREHOUSE_ID ? 'the warehouse' : 'the datasource'
  const read = (statement: string, values: Record<string, unknown> = {}) =>
    readForTrigger(ctx, t, { datasource, statement, values })
  if (c.fingerprint === 'TABLE_STATS') {
    const dot = c.table.indexOf('.')
    const [schema, table] = dot < 0 ? [null, c.table] : [c.table.slice(0, dot), c.table.slice(dot + 1)]
    const rows = await read(
      `select n_live_tup::text as live, n_tup_ins::text as ins, n_tup_upd::text as upd,
        n_tup_del::text as del from pg_stat_user_tables
       where schemaname = coalesce(\${schema}::text, current_schema()) and relname = \${t}`,
      { schema, t: table },
    )
    if (!rows[0]) throw new Error(`table "${c.table}" does not exist in ${where}`)
    return JSON.stringify(rows[0])
  }
  const max = c.column ? `, max(${quoteIdent(c.column)})::text as max` : ''
  const rows = await read(`select count(*)::text as count${max} from ${quoteQualified(c.table)}`)
  return JSON.stringify(rows[0] ?? {})
}

/**
 * DATASET_CHANGE: the first look records a baseline. A change then waits out
 * the grace delay; with recheck, a table still changing after it restarts the
 * wait, so a load in progress fires once, when it has settled.
 */
export async function evaluateDataset(t: TriggerRow, ctx: EvalContext): Promise<Evaluation> {
  const c = t.config as DatasetChangeConfig
  const s = (t.state ?? {}) as DatasetState
  const interval = c.intervalSeconds * 1000
  const grace = c.graceSeconds * 1000
  const fp = await fingerprint(ctx, t, c)
  const idle = (state: DatasetState, nextInMs = interval): Evaluation => ({
    state: { ...state },
    nextInMs,
    fire: null,
    events: [],
  })
  const fire = (message: string): Evaluation => ({
    state: { fingerprint: fp },
    nextInMs: interval,
    fire: { parameters: {}, message },
    events: [],
  })
  if (s.fingerprint === undefined) {
    return {
      ...idle({ fingerprint: fp }),
      events: [{ kind: 'RECORDED', message: `baseline of ${c.table}: ${fp}` }],
    }
  }
  if (!s.pending) {
    if (fp === s.fingerprint) return idle(s)
    if (grace === 0) return fire(`${c.table} changed: ${fp}`)
    return {
      ...idle({ fingerprint: s.fingerprint, pending: { since: ctx.now, fingerprint: fp } }, grace),
      events: [
        {
          kind: 'CHANGED',
          message: `${c.table} changed; firing after the grace delay of ${c.graceSeconds}s`,
        },
      ],
    }
  }
  const waitLeft = s.pending.since + grace - ctx.now
  if (waitLeft > 0) return idle(s, waitLeft)
  if (c.recheck && fp !== s.pending.fingerprint) {
    return {
      ...idle({ fingerprint: s.fingerprint, pending: { since: ctx.now, fingerprint: fp } }, grace),
      events: [{ kind: 'CHANGED', message: `${c.table} still changing; waiting another ${c.graceSeconds}s` }],
    }
  }
  return fire(`${c.table} changed and the grace delay passed${c.recheck ? ' with no further change' : ''}`)
}
