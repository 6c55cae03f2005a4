import { listApiTokens } from '$lib/admin/tokens'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch, depends }) => {
  depends('app:api-tokens')
  return { tokens: await listApiTokens(fetch) }
}
