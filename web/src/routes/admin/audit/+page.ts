import { listAuditEvents } from '$lib/admin/audit'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch, url }) => {
  const action = url.searchParams.get('action')
  const after = url.searchParams.get('after')
  return { action: action ?? '', ...(await listAuditEvents({ action, after }, fetch)) }
}
