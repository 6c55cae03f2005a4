import { error } from '@sveltejs/kit'
import { getAutomation } from '$lib/automations/api'
import type { LayoutLoad } from './$types'

export const load: LayoutLoad = async ({ fetch, params, depends }) => {
  depends('app:automation')
  const automation = await getAutomation(params.id, fetch)
  if (!automation) error(404, 'This automation does not exist or is not visible to you.')
  return { automation }
}
