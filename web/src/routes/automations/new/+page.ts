import { redirect } from '@sveltejs/kit'
import { listUsers } from '$lib/admin/users'
import { listKinds } from '$lib/automations/api'
import { hasRole } from '$lib/session'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch, parent, url }) => {
  const { me } = await parent()
  if (!hasRole(me, 'EDITOR')) redirect(307, '/automations')
  const [kinds, users] = await Promise.all([listKinds(fetch), listUsers(fetch)])
  return { kinds, users, folderId: url.searchParams.get('folder') }
}
