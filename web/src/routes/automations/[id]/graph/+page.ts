import { listAutomations } from '$lib/automations/api'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch }) => {
  const all = await listAutomations({ first: 200 }, fetch)
  return { automations: all.edges.map(({ node }) => ({ id: node.id, name: node.name, kind: node.kind })) }
}
