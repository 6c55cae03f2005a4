import { listAutomations } from '$lib/automations/api'
import { listDatasources } from '$lib/data/api'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch }) => {
  const [all, datasources] = await Promise.all([
    listAutomations({ first: 200 }, fetch),
    listDatasources(fetch),
  ])
  return {
    automations: all.edges.map(({ node }) => ({ id: node.id, name: node.name, kind: node.kind })),
    // Inline SQL steps run on the warehouse or a PostgreSQL datasource the viewer may use.
    datasources: datasources.filter((d) => d.type === 'POSTGRES').map((d) => ({ id: d.id, name: d.name })),
  }
}
