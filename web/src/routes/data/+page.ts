import { listStorages } from '$lib/data/api'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch, depends }) => {
  depends('app:storages')
  return { storages: await listStorages(fetch) }
}
