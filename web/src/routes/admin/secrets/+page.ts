import { listSecrets } from '$lib/admin/secrets'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch, depends, parent }) => {
  depends('app:secrets')
  const { me } = await parent()
  return { secrets: await listSecrets(fetch, me?.role === 'ADMIN') }
}
