import { listUsers } from '$lib/admin/users'
import { listAutomations } from '$lib/automations/api'
import { getTriggerOverview } from '$lib/triggers/api'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch, params, depends, parent }) => {
  depends('app:triggers')
  const { automation } = await parent()
  const [users, triggers, others] = await Promise.all([
    listUsers(fetch),
    getTriggerOverview(params.id, fetch),
    // Only editors pick an automation to follow (AFTER_AUTOMATION).
    automation.viewerCanEdit ? listAutomations({ first: 200 }, fetch) : null,
  ])
  return {
    users,
    triggers,
    automations: others?.edges.map(({ node }) => ({ id: node.id, name: node.name })) ?? [],
  }
}
