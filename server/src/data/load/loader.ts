import type { Queryable } from '../../db/database'
import { RunFailure } from '../../kinds/kind'
import type { WarehouseSession } from '../../warehouse/session'
import { quoteIdent } from '../identifiers'
import type { Column } from '../rows'
import type { DataServices } from '../services'
import { touchStorage } from '../storages/catalog'
import { replaceRows } from './replace'
import type { TargetSpec } from './spec'
import { Stage } from './stage'
import { describeTarget } from './target'
import { upsertRows } from './upsert'

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
 * transaction moves its rows into the target: a new storage is the renamed
 * stage; an existing one keeps its table (and so its indexes, comments and
 * grants) and has its rows replaced (replace.ts), appended, or upserted by
 * key (upsert.ts). Until that transaction commits the target is untouched,
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
    if (target.mode === 'UPSERT') {
      const absent = target.key.filter((k) => !columns.some((c) => c.name === k))
      if (absent.length > 0) throw new RunFailure(`key column(s) ${absent.join(', ')} not in the loaded rows`)
    }
    const rowCount = await session.atomic(async (q) => {
      const existing = await describeTarget(q, session.schema, target.storage)
      if (existing?.kind === 'VIEW') {
        throw new RunFailure(`storage ${target.storage} is a view; load into a table`)
      }
      if (!existing && target.mode !== 'UPSERT') {
        // A new storage: the filled stage simply becomes it.
        await q.query(`alter table ${stage.ref} rename to ${quoteIdent(target.storage)}`)
        return rowsLoaded
      }
      if (!existing) {
        // A new storage loaded by key starts empty, so the key index and one row per key hold from the start.
        await q.query(`create table ${quoteIdent(target.storage)} (like ${stage.ref})`)
      }
      const has = existing?.columns ?? columns
      if (target.mode === 'REPLACE') {
        await replaceRows(q, { table: target.storage, existing: has, stage: stage.table, columns })
      } else {
        const missing = columns.filter((c) => !has.some((e) => e.name === c.name))
        if (missing.length > 0)
          throw new RunFailure(
            `storage ${target.storage} has no column(s) ${missing.map((c) => c.name).join(', ')}; ` +
              `${target.mode} adds rows to the columns it has (REPLACE changes them)`,
          )
        if (target.mode === 'UPSERT') {
          await upsertRows(q, {
            schema: session.schema,
            table: target.storage,
            stage: stage.table,
            columns,
            key: target.key,
          })
        } else {
          const cols = columns.map((c) => quoteIdent(c.name)).join(', ')
          await q.query(
            `insert into ${quoteIdent(target.storage)} (${cols}) select ${cols} from ${stage.ref}`,
          )
        }
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
