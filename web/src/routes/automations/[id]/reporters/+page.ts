import { listChannelTypes, listConnections, listReporters } from '$lib/reporters/api'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch, params, depends, parent }) => {
  depends('app:reporters')
  const { automation } = await parent()
  const [reporters, channels, connections] = await Promise.all([
    listReporters(params.id, fetch),
    listChannelTypes(fetch),
    // Only editors choose a connection.
    automation.viewerCanEdit ? listConnections(false, fetch) : [],
  ])
  return { reporters, channels, connections }
}
