import type { WarehouseSession } from '../../warehouse/session'
import { type DataRunContext, relationFor } from '../load/sources'
import type { SourceSpec } from '../load/spec'

/**
 * Opens several sources as relations in the warehouse for one statement,
 * sharing its parameter list, and removes their temporary stages afterwards.
 */
export async function withRelations<T>(
  d: DataRunContext,
  session: WarehouseSession,
  specs: readonly SourceSpec[],
  fn: (relations: string[], params: unknown[]) => Promise<T>,
): Promise<T> {
  const params: unknown[] = []
  const opened: { sql: string; cleanup(): Promise<void> }[] = []
  try {
    for (const spec of specs) opened.push(await relationFor(d, session, spec, params))
    return await fn(
      opened.map((o) => o.sql),
      params,
    )
  } finally {
    for (const o of opened) await o.cleanup()
  }
}
