import { redirect } from '@sveltejs/kit'
import { listFoldersWithGrants } from '$lib/admin/folders'
import { listUsers } from '$lib/admin/users'
import { hasRole } from '$lib/session'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch, parent, depends }) => {
  depends('app:folders')
  const { me } = await parent()
  if (!hasRole(me, 'ADMIN')) redirect(307, '/admin/api-tokens')
  const [folders, users] = await Promise.all([listFoldersWithGrants(fetch), listUsers(fetch)])
  return { folderGrants: folders, users }
}
