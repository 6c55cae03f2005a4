import { listChannelTypes, listConnections } from '$lib/reporters/api'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch, depends }) => {
  depends('app:channels')
  const [connections, channels] = await Promise.all([listConnections(true, fetch), listChannelTypes(fetch)])
  return { connections, channels }
}
