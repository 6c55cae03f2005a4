import { redirect } from '@sveltejs/kit'
import { listEmbedTokens } from '$lib/admin/tokens'
import { listAutomations } from '$lib/automations/api'
import { hasRole } from '$lib/session'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch, parent, depends }) => {
  depends('app:embed-tokens')
  const { me } = await parent()
  if (!hasRole(me, 'EDITOR')) redirect(307, '/admin/api-tokens')
  const [tokens, automations] = await Promise.all([
    listEmbedTokens(fetch),
    listAutomations({ first: 200 }, fetch),
  ])
  return { tokens, automations: automations.edges.map((e) => e.node) }
}
