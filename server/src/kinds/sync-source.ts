import { z } from 'zod'
import { dataContext, loadContext } from '../data/kind-context'
import { loadStorage } from '../data/load/loader'
import { fillFromSource } from '../data/load/sources'
import { DatasourceRef, StatementTimeout, TargetSpec } from '../data/load/spec'
import { TableName } from '../data/identifiers'
import { defineKind } from './kind'

/** Copies a whole table (or an uploaded file) into a storage, streaming, replacing it atomically by default. */
export const syncSource = defineKind({
  kind: 'SYNC_SOURCE',
  description: 'Copies a whole table of a datasource into a storage.',
  configSchema: z.object({
    source: z.object({
      datasource: DatasourceRef,
      /** `table` or `schema.table`; not needed for a file datasource. */
      table: TableName.optional(),
    }),
    target: TargetSpec,
    timeoutMs: StatementTimeout,
  }),
  async execute(ctx) {
    const { config, log } = ctx
    const d = await dataContext(ctx, config.timeoutMs)
    const started = Date.now()
    const result = await loadStorage(loadContext(d), config.target, (stage) =>
      fillFromSource(d, stage, config.source),
    )
    log(
      'INFO',
      `synced ${result.rowsLoaded} row(s) into ${config.target.storage} in ${Date.now() - started} ms`,
    )
    return { outputs: { ...result } }
  },
})
