import { listVersions } from '$lib/automations/versions'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch, params, depends }) => {
  depends('app:versions')
  return { versions: await listVersions(params.id, fetch) }
}
