import { listConnections } from '$lib/reporters/api'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch, depends }) => {
  depends('app:channels')
  return { connections: await listConnections(true, fetch) }
}
