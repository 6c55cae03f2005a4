import { z } from 'zod'
import { dataContext, loadContext } from '../data/kind-context'
import { loadStorage } from '../data/load/loader'
import { SourceSpec, StatementTimeout, TargetSpec } from '../data/load/spec'
import { Transform, compileTransform } from '../data/transform/etl'
import { withRelations } from '../data/transform/relations'
import { defineKind } from './kind'

/**
 * Extract, transform, load: reads a source (and optionally joins another),
 * computes, filters, groups or selects, and loads the result into a storage.
 * The transform runs as SQL inside the warehouse as the organization's role;
 * sources outside it are streamed into temporary stages first.
 */
export const etlStep = defineKind({
  kind: 'ETL_STEP',
  description:
    'Extracts from a datasource, transforms (select, rename, filter, compute, join, group) and loads a storage.',
  configSchema: z.object({
    source: SourceSpec,
    transform: Transform.default({ computed: [], filters: [], select: [] }),
    target: TargetSpec,
    timeoutMs: StatementTimeout,
  }),
  async execute(ctx) {
    const { config, log } = ctx
    const d = await dataContext(ctx, config.timeoutMs)
    const specs = config.transform.join ? [config.source, config.transform.join.source] : [config.source]
    const result = await loadStorage(loadContext(d), config.target, (stage, session) =>
      withRelations(d, session, specs, (rels, params) => {
        const sql = compileTransform(
          config.transform,
          { source: rels[0]!, joined: rels[1] },
          d.values,
          params,
        )
        return stage.defineAs(sql, params)
      }),
    )
    log('INFO', `${config.target.mode} ${config.target.storage}: ${result.rowsLoaded} row(s)`)
    return { outputs: { ...result } }
  },
})
