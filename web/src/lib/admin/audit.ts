import { request } from '$lib/api/graphql'
import type { AuditEvent } from '$lib/api/types'

type Fetch = typeof fetch

export interface AuditFilters {
  action?: string | null
  after?: string | null
}

/** One page (newest first) of the audit log. */
export async function listAuditEvents(
  filters: AuditFilters,
  fetchFn?: Fetch,
): Promise<{ events: AuditEvent[]; next: string | null }> {
  const r = await request<{
    auditEvents: {
      edges: { node: AuditEvent }[]
      pageInfo: { hasNextPage: boolean; endCursor: string | null }
    }
  }>(
    `query Audit($action: String, $after: String) {
      auditEvents(action: $action, after: $after, first: 50) {
        edges { node { id at actor action targetType targetId outcome details address userAgent } }
        pageInfo { hasNextPage endCursor }
      }
    }`,
    { action: filters.action || null, after: filters.after || null },
    fetchFn,
  )
  const page = r.auditEvents
  return {
    events: page.edges.map((e) => e.node),
    next: page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null,
  }
}
