import { listChannelTypes, listConnections, listReporters } from '$lib/reporters/api'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch, params, depends, parent }) => {
  depends('app:reporters')
  const { automation } = await parent()
  // Reporters (their recipients) and connections are for those who edit the automation.
  const [reporters, channels, connections] = await Promise.all([
    automation.viewerCanEdit ? listReporters(params.id, fetch) : [],
    listChannelTypes(fetch),
    automation.viewerCanEdit ? listConnections(false, fetch) : [],
  ])
  return { reporters, channels, connections }
}
