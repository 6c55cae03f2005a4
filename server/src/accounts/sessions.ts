import { announceAccessChanged } from '../auth/announce'
import { SESSION_TTL_MS } from '../auth/authenticate'
import { verifyPassword } from '../auth/password'
import { TokenPrefix, hashToken, newToken } from '../auth/tokens'
import type { Database, Queryable } from '../db/database'
import type { UserRow } from './users'

export interface LoginResult {
  token: string
  expiresAt: Date
  user: UserRow
}

/**
 * Checks email and password and opens a session. Returns null for any failure,
 * with the same work done whether or not the email exists.
 */
export async function login(db: Database, email: string, password: string): Promise<LoginResult | null> {
  const [user] = await db.query<UserRow & { password_hash: string | null }>(
    `select id, org_id, email, name, role, created_at, deleted_at, password_hash
     from users where lower(email) = lower($1) and deleted_at is null`,
    [email],
  )
  const ok = await verifyPassword(password, user?.password_hash)
  if (!ok || !user) return null
  const { password_hash: _, ...publicUser } = user
  return openSession(db, publicUser)
}

/** A new session for a user whose credentials were just proven (password, or an invitation). */
export async function openSession(db: Queryable, user: UserRow): Promise<LoginResult> {
  const token = newToken(TokenPrefix.SESSION)
  const expiresAt = new Date(Date.now() + SESSION_TTL_MS)
  await db.query('insert into sessions (token_hash, user_id, expires_at) values ($1, $2, $3)', [
    hashToken(token),
    user.id,
    expiresAt,
  ])
  // Expired sessions are swept opportunistically at login instead of by a timer.
  await db.query('delete from sessions where user_id = $1 and expires_at < now()', [user.id])
  return { token, expiresAt, user }
}

/** Ends one session and announces it, so its live subscriptions close. */
export async function logout(
  db: Database,
  viewer: { orgId: string; userId: string },
  sessionHash: string,
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('delete from sessions where token_hash = $1', [sessionHash])
    await announceAccessChanged(tx, viewer)
  })
}
