import { createHash } from 'node:crypto'
import { WAREHOUSE_ID } from '../data/domain'
import type { SqlChangeConfig } from '../triggers/config'
import type { TriggerRow } from '../triggers/domain'
import type { EvalContext, Evaluation } from './poll-pass'
import { readForTrigger } from './watch-source'

const MAX_ROWS = 1000

/**
 * SQL_CHANGE: runs the query every interval, read-only, as the automation's
 * run-as user would (the warehouse as the organization's restricted role, or
 * a PostgreSQL datasource that user was granted; `${name}` bound from the
 * trigger's parameters), and fires when its result differs from the previous
 * evaluation's. The first evaluation only records, so saving a trigger never fires it.
 */
export async function evaluateSqlChange(t: TriggerRow, ctx: EvalContext): Promise<Evaluation> {
  const c = t.config as SqlChangeConfig
  const rows = await readForTrigger(ctx, t, {
    datasource: c.datasource ?? WAREHOUSE_ID,
    statement: c.query,
    values: t.parameters,
  })
  if (rows.length > MAX_ROWS) {
    throw new Error(
      `the query returned more than ${MAX_ROWS} rows; return a small summary instead (e.g. select max(updated_at), count(*) from ...)`,
    )
  }
  const hash = createHash('sha256').update(JSON.stringify(rows)).digest('hex')
  const previous = (t.state as { hash?: string } | null)?.hash
  const nextInMs = c.intervalSeconds * 1000
  if (previous === undefined) {
    return {
      state: { hash },
      nextInMs,
      fire: null,
      events: [
        { kind: 'RECORDED', message: `first result recorded (${rows.length} row(s)); fires when it changes` },
      ],
    }
  }
  if (previous === hash) return { state: { hash }, nextInMs, fire: null, events: [] }
  return {
    state: { hash },
    nextInMs,
    fire: { parameters: {}, message: 'the query result changed' },
    events: [],
  }
}
