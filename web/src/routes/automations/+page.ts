import { listAutomations, listKinds } from '$lib/automations/api'
import { listRuns } from '$lib/runs/queries'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch, url }) => {
  const search = url.searchParams.get('q') ?? ''
  const kind = url.searchParams.get('kind') ?? ''
  const folderId = url.searchParams.get('folder') ?? ''
  const [automations, kinds, recentRuns] = await Promise.all([
    listAutomations(
      { ...(search ? { search } : {}), ...(kind ? { kind } : {}), ...(folderId ? { folderId } : {}) },
      fetch,
    ),
    listKinds(fetch),
    // The latest runs of the organization give each listed automation its last state.
    listRuns({ first: 200, topLevelOnly: false }, fetch),
  ])
  return { automations, kinds, recentRuns: recentRuns.edges.map((e) => e.node), search, kind, folderId }
}
