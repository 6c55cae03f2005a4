import { listDatasources } from '$lib/data/api'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch, depends }) => {
  depends('app:datasources')
  return { datasources: await listDatasources(fetch) }
}
