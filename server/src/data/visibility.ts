import { getVisibleAutomation } from '../automations/service'
import type { Context } from '../graphql/context'

/**
 * Metric and check history belongs to the automation that computed it: a
 * viewer sees it when they may see that automation (folder grants included).
 */
export async function visibleByAutomation<T>(
  ctx: Context,
  rows: readonly T[],
  automationOf: (r: T) => string | null,
): Promise<T[]> {
  const ids = [...new Set(rows.map(automationOf).filter((id): id is string => id !== null))]
  const visible = new Set<string>()
  await Promise.all(
    ids.map((id) =>
      getVisibleAutomation(ctx, id).then(
        () => visible.add(id),
        () => {},
      ),
    ),
  )
  return rows.filter((r) => {
    const id = automationOf(r)
    return id !== null && visible.has(id)
  })
}
