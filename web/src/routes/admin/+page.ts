import { redirect } from '@sveltejs/kit'
import { hasRole } from '$lib/session'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ parent }) => {
  const { me } = await parent()
  redirect(307, hasRole(me, 'ADMIN') ? '/admin/users' : '/admin/api-tokens')
}
