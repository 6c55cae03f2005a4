import { redirect } from '@sveltejs/kit'
import { listKinds } from '$lib/automations/api'
import { hasRole } from '$lib/session'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch, parent, url }) => {
  const { me } = await parent()
  if (!hasRole(me, 'EDITOR')) redirect(307, '/automations')
  return { kinds: await listKinds(fetch), folderId: url.searchParams.get('folder') }
}
