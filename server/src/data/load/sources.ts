import type { LogLevel } from '../../domain'
import { coerceError } from '../../errors'
import { fillSecrets, secretNamesIn } from '../../secrets/references'
import type { RunInfo } from '../../kinds/kind'
import { RunFailure } from '../../kinds/kind'
import { bindParameters } from '../../warehouse/names'
import type { WarehouseSession } from '../../warehouse/session'
import { open } from '../crypto'
import { permissionOn, runAsGrantee } from '../datasources/access'
import { copyTable, streamQuery } from '../datasources/postgres'
import { getDatasourceRow } from '../datasources/store'
import { WAREHOUSE_ID } from '../domain'
import { type FileOptions, type FileRows, fileOptions, readFileRows } from '../files/reader'
import { getFile, readFile } from '../files/store'
import { quoteQualified } from '../identifiers'
import type { DataServices } from '../services'
import type { SourceSpec } from './spec'
import { Stage } from './stage'

/** What data kinds share while they run: services, the run, its variables and its signal. */
export interface DataRunContext {
  data: DataServices
  run: RunInfo
  /** Variables and parameters, nearest scope winning: what `${name}` binds. */
  values: Record<string, unknown>
  signal: AbortSignal
  timeoutMs: number
  log(level: LogLevel, message: string): void
  /** Opens secrets a datasource's connection string names; recorded, and redacted from the run. */
  openSecrets(names: readonly string[]): Promise<ReadonlyMap<string, string>>
}

export type ResolvedDatasource =
  | { type: 'WAREHOUSE'; id: typeof WAREHOUSE_ID; name: string }
  | { type: 'POSTGRES'; id: string; name: string; url: string }
  | { type: 'FILE'; id: string; name: string; fileId: string; options: Record<string, unknown> }

/**
 * Opens a datasource for a run, checking that the run-as user may use it: a
 * run reads only what the user it runs as was granted. The warehouse is the
 * organization's own and needs no grant.
 */
export async function resolveDatasource(ctx: DataRunContext, id: string): Promise<ResolvedDatasource> {
  if (id === WAREHOUSE_ID) return { type: 'WAREHOUSE', id: WAREHOUSE_ID, name: 'warehouse' }
  const { db } = ctx.data
  const row = await getDatasourceRow(db, ctx.run.orgId, id)
  if (!row) throw new RunFailure(`datasource ${id} does not exist (or was deleted)`)
  const who = await runAsGrantee(db, ctx.run.orgId, ctx.run.runAs)
  if (!who)
    throw new RunFailure(
      `datasource "${row.name}": this run has no run-as user, so it may read only the warehouse`,
    )
  if (!(await permissionOn(db, who, row))) {
    throw new RunFailure(`datasource "${row.name}" is not granted to the user this run runs as`)
  }
  if (row.type === 'POSTGRES') {
    if (!row.secret) throw new RunFailure(`datasource "${row.name}" has no connection string`)
    let url: string
    try {
      url = open(ctx.data.secretsKey, row.secret, row.id)
    } catch {
      throw new RunFailure(
        `datasource "${row.name}": its connection string cannot be decrypted (was SWITCHYARD_SECRET_KEY changed?)`,
      )
    }
    // `${secret.NAME}` in the stored string is filled only now, for this connection.
    const names = secretNamesIn(url)
    if (names.length > 0) {
      let secrets: ReadonlyMap<string, string>
      try {
        secrets = await ctx.openSecrets(names)
      } catch (err) {
        throw new RunFailure(`datasource "${row.name}": ${coerceError(err).message}`)
      }
      url = fillSecrets(url, secrets, encodeURIComponent)
    }
    return { type: 'POSTGRES', id: row.id, name: row.name, url }
  }
  const options = (row.config.options ?? {}) as Record<string, unknown>
  return { type: 'FILE', id: row.id, name: row.name, fileId: String(row.config.fileId), options }
}

/** Binds `${name}` as parameters; an unknown name fails the run with its name. */
export function bind(statement: string, values: Record<string, unknown>, into?: unknown[]) {
  try {
    return bindParameters(statement, values, into)
  } catch (err) {
    throw new RunFailure((err as Error).message)
  }
}

function selectOf(spec: SourceSpec, ds: ResolvedDatasource): string {
  if (spec.table) return `select * from ${quoteQualified(spec.table)}`
  if (spec.query) return spec.query
  throw new RunFailure(`datasource "${ds.name}": give a table or a query to read`)
}

/** Opens the rows of a file datasource. */
export async function fileRows(
  ctx: DataRunContext,
  ds: Extract<ResolvedDatasource, { type: 'FILE' }>,
  override: Record<string, unknown> = {},
): Promise<FileRows> {
  const file = await getFile(ctx.data.db, ctx.run.orgId, ds.fileId)
  if (!file) throw new RunFailure(`datasource "${ds.name}": its file is missing`)
  let options: FileOptions
  try {
    options = fileOptions(ds.options, override)
  } catch (err) {
    throw new RunFailure(`datasource "${ds.name}": invalid file options: ${(err as Error).message}`)
  }
  return readFileRows(readFile(ctx.data.db, file.id), file.name, options, ctx.data.fileLimits)
}

/** Adds a source's rows to a stage: inside the warehouse when it is the source, else streamed in batches. */
export async function fillFromSource(
  ctx: DataRunContext,
  stage: Stage,
  spec: SourceSpec,
  label = `datasource ${spec.datasource}`,
): Promise<void> {
  const ds = await resolveDatasource(ctx, spec.datasource)
  if (ds.type === 'FILE') {
    const rows = await fileRows(ctx, ds)
    await stage.insertStream(rows, ctx.signal, `file "${ds.name}"`)
    if (rows.report.badRowCount > 0)
      ctx.log('WARN', `file "${ds.name}": skipped ${rows.report.badRowCount} bad row(s)`)
    return
  }
  const select = selectOf(spec, ds)
  if (ds.type === 'WAREHOUSE') {
    const { text, params } = bind(select, ctx.values)
    return stage.insertSelect(text, params)
  }
  const opts = {
    name: ds.name,
    timeoutMs: ctx.timeoutMs,
    batchRows: 5000,
    signal: ctx.signal,
    egress: ctx.data.egress,
  }
  const named = label.replace(spec.datasource, `"${ds.name}"`)
  if (spec.table && stage.copyable) {
    // A whole table into a server warehouse: COPY out piped into COPY in, nothing parsed on the way.
    return copyTable(ds.url, quoteQualified(spec.table), opts, (columns, data) =>
      stage.insertCopy(columns, data, named),
    )
  }
  const { text, params } = bind(select, ctx.values)
  await streamQuery(ds.url, text, params, opts, (rows) => stage.insertStream(rows, ctx.signal, named))
}

/**
 * A from-item for a source inside the warehouse, for transforms written in
 * SQL: a storage by name, a warehouse query as a subquery (its parameters
 * appended to `params`), or another datasource copied into a temporary stage.
 */
export async function relationFor(
  ctx: DataRunContext,
  session: WarehouseSession,
  spec: SourceSpec,
  params: unknown[],
): Promise<{ sql: string; cleanup(): Promise<void> }> {
  const nothing = async () => {}
  if (spec.datasource === WAREHOUSE_ID) {
    if (spec.table) return { sql: quoteQualified(spec.table), cleanup: nothing }
    if (!spec.query) throw new RunFailure('warehouse source: give a table or a query to read')
    return { sql: `(\n${bind(spec.query, ctx.values, params).text}\n)`, cleanup: nothing }
  }
  const stage = new Stage(session, 'src')
  await fillFromSource(ctx, stage, spec)
  // After a failure on a server the transaction is aborted and rolls the stage back anyway.
  return { sql: stage.ref, cleanup: () => stage.drop().catch(() => {}) }
}
