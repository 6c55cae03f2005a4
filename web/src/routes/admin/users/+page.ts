import { redirect } from '@sveltejs/kit'
import { listUsers } from '$lib/admin/users'
import { hasRole } from '$lib/session'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch, parent, depends }) => {
  depends('app:users')
  const { me } = await parent()
  if (!hasRole(me, 'ADMIN')) redirect(307, '/admin/api-tokens')
  return { users: await listUsers(fetch) }
}
