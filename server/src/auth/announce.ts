import type { Queryable } from '../db/database'
import { Channel } from '../events/channels'

/** Who may have lost access: one user, or (without userId) anyone in the organization. */
export interface AccessChange {
  orgId: string
  userId?: string | undefined
}

/**
 * Announces on the event bus, inside the caller's transaction, that grants
 * changed (a token was revoked, a user deleted, a role or folder grant changed,
 * a session signed out). Delivered at commit to every node, which closes or
 * re-checks the subscriptions it serves.
 */
export async function announceAccessChanged(tx: Queryable, change: AccessChange): Promise<void> {
  const payload: AccessChange = change.userId
    ? { orgId: change.orgId, userId: change.userId }
    : { orgId: change.orgId }
  await tx.query('select pg_notify($1, $2)', [Channel.ACCESS, JSON.stringify(payload)])
}
