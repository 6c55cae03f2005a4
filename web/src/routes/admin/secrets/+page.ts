import { listSecrets } from '$lib/admin/secrets'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch, depends }) => {
  depends('app:secrets')
  return { secrets: await listSecrets(fetch) }
}
