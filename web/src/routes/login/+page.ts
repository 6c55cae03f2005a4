import { redirect } from '@sveltejs/kit'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ parent }) => {
  const { me } = await parent()
  if (me) redirect(307, '/automations')
}
