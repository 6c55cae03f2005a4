import { z } from 'zod'
import { dataContext, loadContext } from '../data/kind-context'
import { loadStorage } from '../data/load/loader'
import { SourceSpec, StatementTimeout, TargetSpec } from '../data/load/spec'
import { PivotSpec, compilePivot } from '../data/transform/pivot'
import { withRelations } from '../data/transform/relations'
import { defineKind } from './kind'

/** Turns the values of one column into columns, aggregating another, and loads the result into a storage. */
export const pivot = defineKind({
  kind: 'PIVOT',
  description: 'Pivots a source: the values of one column become columns holding an aggregate.',
  configSchema: z.object({
    source: SourceSpec,
    pivot: PivotSpec,
    target: TargetSpec,
    timeoutMs: StatementTimeout,
  }),
  async execute(ctx) {
    const { config, log } = ctx
    const d = await dataContext(ctx, config.timeoutMs)
    const result = await loadStorage(loadContext(d), config.target, (stage, session) =>
      withRelations(d, session, [config.source], async ([rel], params) =>
        stage.defineAs(await compilePivot(config.pivot, rel!, session, params), params),
      ),
    )
    log(
      'INFO',
      `pivoted into ${config.target.storage}: ${result.rowsLoaded} row(s), ${result.columns.length} column(s)`,
    )
    return { outputs: { ...result } }
  },
})
