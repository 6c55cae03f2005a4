import { listEmbedTokens } from '$lib/admin/tokens'
import type { AutomationSummary, EmbedToken, JsonObject } from '$lib/api/types'
import { request } from '$lib/api/graphql'
import { hasRole } from '$lib/session'
import { triggersWatching } from '$lib/triggers/api'
import type { PageLoad } from './$types'

type ChainRow = AutomationSummary & { config: JsonObject }

export const load: PageLoad = async ({ fetch, parent, params }) => {
  const { me } = await parent()
  const chains = request<{ automations: { edges: { node: ChainRow }[] } }>(
    `query Chains { automations(kind: "CHAIN", first: 200) { edges { node { id name kind description config } } } }`,
    {},
    fetch,
  )
  // Embed tokens are listed for editors and admins only.
  const tokens: Promise<EmbedToken[]> = hasRole(me, 'EDITOR') ? listEmbedTokens(fetch) : Promise.resolve([])
  const [chainData, embedTokens, followers] = await Promise.all([
    chains,
    tokens,
    triggersWatching(params.id, fetch),
  ])
  const usedBy = chainData.automations.edges
    .map((e) => e.node)
    .filter((c) => Array.isArray(c.config.children) && c.config.children.includes(params.id))
  return {
    usedBy,
    followers,
    embedTokens: embedTokens.filter((t) => t.automationIds.includes(params.id)),
    canSeeTokens: hasRole(me, 'EDITOR'),
  }
}
