import type { Database } from '../db/database'
import type { Role } from '../domain'
import { TokenPrefix, hashToken } from './tokens'
import type { UserViewer, Viewer } from './viewer'

export const SESSION_COOKIE = 'sy_session'
export const SESSION_TTL_MS = 14 * 24 * 3600 * 1000

interface UserRow {
  user_id: string
  org_id: string
  role: Role
  email: string
}

/** Reads the bearer token, else the session cookie, from request headers. */
export function credentialFrom(headers: {
  authorization?: string | null
  cookie?: string | null
}): string | undefined {
  const auth = headers.authorization
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim()
  const cookie = headers.cookie
  if (!cookie) return undefined
  for (const part of cookie.split(';')) {
    const [k, ...v] = part.trim().split('=')
    if (k === SESSION_COOKIE) return decodeURIComponent(v.join('='))
  }
  return undefined
}

/**
 * Turns a credential into a Viewer, or undefined when it is unknown, expired or
 * revoked. Deleted users are refused whatever the credential.
 */
export async function authenticate(
  db: Database,
  credential: string | undefined,
): Promise<Viewer | undefined> {
  if (!credential || credential.length > 200) return undefined
  const hash = hashToken(credential)
  if (credential.startsWith(TokenPrefix.SESSION)) {
    const [row] = await db.query<UserRow>(
      `select u.id as user_id, u.org_id, u.role, u.email from sessions s join users u on u.id = s.user_id
       where s.token_hash = $1 and s.expires_at > now() and u.deleted_at is null`,
      [hash],
    )
    return row && userViewer(row, 'session', hash)
  }
  if (credential.startsWith(TokenPrefix.API)) {
    const [row] = await db.query<UserRow>(
      `update api_tokens t set last_used_at = now() from users u
       where t.token_hash = $1 and u.id = t.user_id and t.revoked_at is null
         and (t.expires_at is null or t.expires_at > now()) and u.deleted_at is null
       returning u.id as user_id, u.org_id, u.role, u.email`,
      [hash],
    )
    return row && userViewer(row, 'api-token')
  }
  if (credential.startsWith(TokenPrefix.EMBED)) {
    const { authenticateEmbed } = await import('../embed/tokens')
    return authenticateEmbed(db, hash)
  }
  return undefined
}

function userViewer(row: UserRow, via: UserViewer['via'], sessionHash?: string): UserViewer {
  return {
    type: 'user',
    userId: row.user_id,
    orgId: row.org_id,
    role: row.role,
    email: row.email,
    via,
    ...(sessionHash ? { sessionHash } : {}),
  }
}
