import type { DatasetChangeConfig } from '../triggers/config'
import type { TriggerRow } from '../triggers/domain'
import type { Warehouse } from '../warehouse/warehouse'
import type { EvalContext, Evaluation } from './poll-pass'

interface DatasetState {
  fingerprint?: string
  /** A change seen at `since` (ms), waiting out the grace delay. */
  pending?: { since: number; fingerprint: string }
}

const quote = (name: string) => `"${name}"`

/**
 * A cheap fingerprint of a warehouse table, read as the organization's
 * restricted role: row count plus the max of a column, or the table's
 * statistics counters (no scan at all; PostgreSQL updates them within a second or so).
 */
export async function fingerprint(w: Warehouse, orgId: string, c: DatasetChangeConfig): Promise<string> {
  if (c.fingerprint === 'TABLE_STATS') {
    const { rows } = await w.execute({
      orgId,
      statement: `select n_live_tup::text as live, n_tup_ins::text as ins, n_tup_upd::text as upd,
        n_tup_del::text as del from pg_stat_user_tables where schemaname = current_schema() and relname = \${t}`,
      parameters: { t: c.table },
      timeoutMs: 30_000,
    })
    if (!rows[0]) throw new Error(`table "${c.table}" does not exist in the warehouse`)
    return JSON.stringify(rows[0])
  }
  const max = c.column ? `, max(${quote(c.column)})::text as max` : ''
  const { rows } = await w.execute({
    orgId,
    statement: `select count(*)::text as count${max} from ${quote(c.table)}`,
    parameters: {},
    timeoutMs: 30_000,
  })
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
  const fp = await fingerprint(ctx.warehouse, t.org_id, c)
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
