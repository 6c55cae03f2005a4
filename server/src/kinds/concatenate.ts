import { z } from 'zod'
import { dataContext, loadContext } from '../data/kind-context'
import { ColumnName, quoteIdent } from '../data/identifiers'
import { loadStorage } from '../data/load/loader'
import { fillFromSource } from '../data/load/sources'
import { SourceSpec, StatementTimeout, TargetSpec } from '../data/load/spec'
import { withRelations } from '../data/transform/relations'
import { RunFailure, defineKind } from './kind'

/**
 * Stacks several sources with the same columns (matched by name, in the
 * first source's order) into one storage, optionally tagging each row with
 * the position of the source it came from.
 */
export const concatenate = defineKind({
  kind: 'CONCATENATE',
  description: 'Concatenates several sources with the same columns into one storage.',
  configSchema: z.object({
    sources: z.array(SourceSpec).min(2, 'give at least two sources').max(50),
    /** Adds this column holding the 1-based position of each row's source. */
    sourceColumn: ColumnName.optional(),
    target: TargetSpec,
    timeoutMs: StatementTimeout,
  }),
  async execute(ctx) {
    const { config, log } = ctx
    const d = await dataContext(ctx, config.timeoutMs)
    const result = await loadStorage(loadContext(d), config.target, async (stage, session) => {
      for (const [i, spec] of config.sources.entries()) {
        const label = `source ${i + 1}`
        try {
          if (!config.sourceColumn) await fillFromSource(d, stage, spec, label)
          else {
            await withRelations(d, session, [spec], ([rel], params) => {
              params.push(i + 1)
              return stage.insertSelect(
                `select *, $${params.length}::int as ${quoteIdent(config.sourceColumn!)} from ${rel} as s`,
                params,
              )
            })
          }
        } catch (err) {
          if (err instanceof RunFailure && !err.message.startsWith(label))
            throw new RunFailure(`${label}: ${err.message}`)
          throw err
        }
      }
    })
    log(
      'INFO',
      `concatenated ${config.sources.length} sources into ${config.target.storage}: ${result.rowsLoaded} row(s)`,
    )
    return { outputs: { ...result } }
  },
})
