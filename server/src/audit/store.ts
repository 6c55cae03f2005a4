import type { Queryable } from '../db/database'

/**
 * Outcome of an event whose operation has started and not yet answered. An event
 * left PENDING means the node stopped mid-operation: the change may or may not
 * have been committed, and the record says who tried what, when and from where.
 */
export const PENDING = 'PENDING'

/** One audit record: who, what (action, target, outcome, details) and from where; `at` is now. */
export interface AuditEntry {
  orgId: string
  actorUserId: string | null
  /** The user's email (or the embed token) as it was when it happened. */
  actor: string
  action: string
  targetType: string | null
  targetId: string | null
  outcome: string
  details: Record<string, unknown>
  address: string | null
  userAgent: string | null
}

/** Writes one audit record (inside the caller's transaction when given one) and returns its id. */
export async function insertAuditEvent(q: Queryable, e: AuditEntry): Promise<string> {
  const [row] = await q.query<{ id: string }>(
    `insert into audit_events (org_id, actor_user_id, actor, action, target_type, target_id, outcome, details, address, user_agent)
     values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10) returning id`,
    [
      e.orgId,
      e.actorUserId,
      e.actor,
      e.action,
      e.targetType,
      e.targetId,
      e.outcome,
      JSON.stringify(e.details),
      e.address,
      e.userAgent,
    ],
  )
  return row!.id
}

/** Settles a PENDING record with the outcome its operation answered with (and the target a create made). */
export async function settleAuditEvent(
  q: Queryable,
  id: string,
  s: { outcome: string; targetId: string | null },
): Promise<void> {
  await q.query('update audit_events set outcome = $2, target_id = coalesce(target_id, $3) where id = $1', [
    id,
    s.outcome,
    s.targetId,
  ])
}
