import { z } from 'zod'
import { dataContext, loadContext } from '../data/kind-context'
import { loadStorage } from '../data/load/loader'
import { fillFromSource } from '../data/load/sources'
import { DatasourceRef, StatementTimeout, TargetSpec, UserQuery } from '../data/load/spec'
import { defineKind } from './kind'

/** Runs a query on a datasource and loads its rows into a storage; `${name}` is bound, never pasted. */
export const sqlToStorage = defineKind({
  kind: 'SQL_TO_STORAGE',
  description: 'Runs a query on a datasource (or the warehouse) and loads the result into a storage.',
  configSchema: z.object({
    source: z.object({
      datasource: DatasourceRef.default('warehouse'),
      query: UserQuery,
    }),
    target: TargetSpec,
    timeoutMs: StatementTimeout,
  }),
  async execute(ctx) {
    const { config, log } = ctx
    const d = await dataContext(ctx, config.timeoutMs)
    const result = await loadStorage(loadContext(d), config.target, (stage) =>
      fillFromSource(d, stage, config.source),
    )
    log(
      'INFO',
      `${config.target.mode} ${config.target.storage}: ${result.rowsLoaded} row(s) loaded, ${result.rowCount} in the storage`,
    )
    return { outputs: { ...result } }
  },
})
