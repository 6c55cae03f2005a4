import { listRuns } from '$lib/runs/queries'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch, params }) => ({
  runs: await listRuns({ automationId: params.id, first: 50, topLevelOnly: false }, fetch),
})
