import type { Queryable } from '../db/database'
import type { TriggerSource } from '../domain'
import type { RunRow } from '../engine/run-row'
import { readDefinition } from '../engine/versions'

/**
 * Sources whose runs use the automation's run-as user (not the clicking user's
 * own grants, and not a parent chain's run-as user).
 */
const RUN_AS_SOURCES: readonly TriggerSource[] = [
  'SCHEDULE',
  'WEBHOOK',
  'EMBED',
  'AFTER_AUTOMATION',
  'DATASET_CHANGE',
  'SQL_CHANGE',
  'CODE',
  'MANUAL',
  'API',
]

/**
 * The run-as user this run's version named, when the run ran as someone else
 * because that user had been deleted (resolveRunAs fell back to the first
 * admin). Read from what the run recorded: its version (immutable, it names the
 * run-as user explicitly since every save stores one) and its run_as.
 */
export async function runAsFallbackFrom(
  q: Queryable,
  run: Pick<RunRow, 'version_id' | 'trigger_source' | 'run_as' | 'triggered_by' | 'automation_id'>,
): Promise<string | null> {
  if (!RUN_AS_SOURCES.includes(run.trigger_source as TriggerSource)) return null
  // A personal manual run uses the clicking user's own grants: no run-as user involved.
  if (run.run_as !== null && run.run_as === run.triggered_by) return null
  const def = await readDefinition(q, run.version_id)
  let intended = def.runAsUserId
  if (!intended) {
    const [a] = await q.query<{ created_by: string | null }>(
      'select created_by from automations where id = $1',
      [run.automation_id],
    )
    intended = a?.created_by ?? null
  }
  return intended !== run.run_as ? intended : null
}
