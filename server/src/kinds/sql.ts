import { z } from 'zod'
import { queryDatasourceProblem } from '../data/datasources/access'
import { readCapped } from '../data/datasources/postgres'
import { WAREHOUSE_ID } from '../data/domain'
import { bind, resolveDatasource } from '../data/load/sources'
import { DatasourceRef } from '../data/load/spec'
import { ValidationError } from '../errors'
import { type RunContext, RunFailure, defineKind } from './kind'

export const SqlConfig = z.object({
  /** `warehouse` (default), or a PostgreSQL datasource the run-as user may use. */
  datasource: DatasourceRef.default(WAREHOUSE_ID),
  statement: z.string().trim().min(1, 'the statement is empty').max(100_000),
  /** Rows kept in the run's outputs. */
  maxRows: z.number().int().min(0).max(1000).default(100),
  timeoutMs: z.number().int().min(100).max(3_600_000).default(300_000),
})
type SqlConfig = z.output<typeof SqlConfig>

/**
 * On a PostgreSQL datasource: as every data kind reads one, read-only, with the run-as
 * user's grant checked, secrets of the connection string opened for this run (and
 * redacted), and the connection made through the egress policy.
 */
async function onDatasource({
  config,
  parameters,
  run,
  services,
  signal,
  log,
  openSecrets,
}: RunContext<SqlConfig>) {
  const ds = await resolveDatasource(
    { data: services.data, run, values: parameters, signal, timeoutMs: config.timeoutMs, log, openSecrets },
    config.datasource,
  )
  if (ds.type !== 'POSTGRES')
    throw new RunFailure(`datasource "${ds.name}" is a file: load it into a storage, then query the storage`)
  const { text, params } = bind(config.statement, parameters)
  return readCapped(ds.url, text, params, {
    name: ds.name,
    timeoutMs: config.timeoutMs,
    signal,
    egress: services.data.egress,
    limits: services.data.resultLimits,
    keep: config.maxRows,
  })
}

/**
 * Runs one SQL statement on the organization's own warehouse database, or read-only on
 * a PostgreSQL datasource. `${name}` becomes a bound parameter, never text. The result
 * is read through a cursor under the result caps (SWITCHYARD_MAX_RESULT_ROWS / _BYTES):
 * only `maxRows` rows are kept, the rest are counted.
 */
export const sqlKind = defineKind({
  kind: 'SQL',
  description: 'Runs one SQL statement on the internal warehouse, or read-only on a PostgreSQL datasource.',
  configSchema: SqlConfig,
  async execute(ctx) {
    const { config, parameters, run, log, services, signal } = ctx
    const result =
      config.datasource === WAREHOUSE_ID
        ? await services.warehouse.execute({
            orgId: run.orgId,
            statement: config.statement,
            parameters,
            timeoutMs: config.timeoutMs,
            keepRows: config.maxRows,
            signal,
          })
        : await onDatasource(ctx)
    log('INFO', `${result.command ?? 'statement'}: ${result.rowCount} row(s)`)
    return { outputs: { rowCount: result.rowCount, rows: result.rows } }
  },
  async checkSave(config, { db, orgId, saver }) {
    const problem = await queryDatasourceProblem(db, orgId, saver, config.datasource)
    if (problem)
      throw new ValidationError(`invalid config: config.datasource: ${problem}`, [
        { path: 'config.datasource', message: problem },
      ])
  },
})
