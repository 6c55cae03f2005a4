import type { Queryable } from '../../db/database'
import { RunFailure } from '../../kinds/kind'
import type { WarehouseSession } from '../../warehouse/session'
import { quoteIdent } from '../identifiers'
import type { Column } from '../rows'
import type { DataServices } from '../services'
import { touchStorage } from '../storages/catalog'
import type { TargetSpec } from './spec'
import { Stage } from './stage'

export interface LoadResult {
  storage: string
  mode: TargetSpec['mode']
  /** Rows the load brought in. */
  rowsLoaded: number
  /** Rows in the storage afterwards. */
  rowCount: number
  columns: Column[]
}

export interface LoadContext {
  data: DataServices
  orgId: string
  runId: string | null
  automationId: string | null
  timeoutMs: number
  signal: AbortSignal
}

const count = async (q: Queryable, table: string): Promise<number> =>
  Number((await q.query<{ n: string | number }>(`select count(*) as n from ${quoteIdent(table)}`))[0]!.n)

/**
 * Loads into a storage through a stage: `fill` writes the stage, then one
 * transaction replaces the target with it (drop + rename), appends it, or
 * upserts it by key. Until that transaction commits the target is untouched,
 * so a failed load leaves the previous table exactly as it was.
 */
export async function loadStorage(
  ctx: LoadContext,
  target: TargetSpec,
  fill: (stage: Stage, session: WarehouseSession) => Promise<void>,
): Promise<LoadResult> {
  const result = await ctx.data.warehouse.session(
    ctx.orgId,
    { timeoutMs: ctx.timeoutMs, signal: ctx.signal },
    (session) => loadIn(session, target, fill),
  )
  // Recorded after the warehouse transaction committed, never for a load that rolled back.
  await touchStorage(ctx.data.db, {
    orgId: ctx.orgId,
    name: target.storage,
    runId: ctx.runId,
    automationId: ctx.automationId,
    rowCount: result.rowCount,
  })
  return result
}

async function loadIn(
  session: WarehouseSession,
  target: TargetSpec,
  fill: (stage: Stage, session: WarehouseSession) => Promise<void>,
): Promise<LoadResult> {
  const stage = new Stage(session)
  let done = false
  try {
    await fill(stage, session)
    if (!stage.columns) throw new RunFailure('nothing was loaded: the source produced no columns')
    const columns = stage.columns
    const rowsLoaded = await count(session, stage.table)
    const rowCount = await session.atomic(async (q) => {
      const [t] = await q.query<{ kind: string | null }>(
        `select c.relkind::text as kind from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = $1 and c.relname = $2`,
        [session.schema, target.storage],
      )
      if (t?.kind && t.kind !== 'r' && t.kind !== 'p') {
        throw new RunFailure(`storage ${target.storage} is a view; load into a table`)
      }
      if (target.mode === 'REPLACE' || !t) {
        if (t) await q.query(`drop table ${quoteIdent(target.storage)}`)
        await q.query(`alter table ${stage.ref} rename to ${quoteIdent(target.storage)}`)
        return rowsLoaded
      }
      const cols = columns.map((c) => quoteIdent(c.name)).join(', ')
      if (target.mode === 'UPSERT') {
        const missing = target.key.filter((k) => !columns.some((c) => c.name === k))
        if (missing.length > 0)
          throw new RunFailure(`key column(s) ${missing.join(', ')} not in the loaded rows`)
        const keys = target.key.map(quoteIdent)
        await q.query(
          `delete from ${quoteIdent(target.storage)} t using (select distinct ${keys.join(', ')} from ${stage.ref}) s
           where ${keys.map((k) => `t.${k} = s.${k}`).join(' and ')}`,
        )
        // One row per key: with duplicates in the source, one of them wins.
        await q.query(
          `insert into ${quoteIdent(target.storage)} (${cols}) select distinct on (${keys.join(', ')}) ${cols} from ${stage.ref}`,
        )
      } else {
        await q.query(`insert into ${quoteIdent(target.storage)} (${cols}) select ${cols} from ${stage.ref}`)
      }
      await q.query(`drop table ${stage.ref}`)
      return count(q, target.storage)
    })
    done = true
    return { storage: target.storage, mode: target.mode, rowsLoaded, rowCount, columns }
  } finally {
    // On a server the session's rollback removes the stage; PGlite commits as it goes.
    if (!done && session.embedded) await stage.drop().catch(() => {})
  }
}
