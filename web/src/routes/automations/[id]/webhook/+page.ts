import { getTriggerOverview } from '$lib/triggers/api'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch, params, depends }) => {
  depends('app:triggers')
  const overview = await getTriggerOverview(params.id, fetch)
  return { overview, hooks: overview.triggers.filter((t) => t.type === 'WEBHOOK') }
}
