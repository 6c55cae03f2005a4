import { z } from 'zod'
import { hashPassword } from '../auth/password'
import { TokenPrefix, hashToken, newToken } from '../auth/tokens'
import type { UserViewer } from '../auth/viewer'
import type { Database } from '../db/database'
import { Role } from '../domain'
import { ValidationError } from '../errors'
import { parseInput } from '../validation'
import { type LoginResult, openSession } from './sessions'
import type { UserRow } from './users'

/** How long an invitation link works. */
export const INVITE_TTL_MS = 7 * 24 * 3600 * 1000

const USER_COLUMNS = 'id, org_id, email, name, role, created_at, deleted_at'

const InviteInput = z.object({
  email: z.email('must be an email address').max(254),
  name: z.string().trim().min(1, 'must not be empty').max(200),
  role: z.enum([Role.ADMIN, Role.EDITOR, Role.VIEWER]),
})

export interface Invitation {
  user: UserRow
  /** The one-time secret of the link; only its hash is stored. */
  token: string
  expiresAt: Date
}

/**
 * Adds a user without a password and returns a one-time secret for the link the
 * admin hands over. The user cannot sign in until they open it and choose a password.
 */
export async function inviteUser(
  db: Database,
  viewer: UserViewer,
  input: z.input<typeof InviteInput>,
): Promise<Invitation> {
  const data = parseInput(InviteInput, input)
  const token = newToken(TokenPrefix.INVITE)
  const expiresAt = new Date(Date.now() + INVITE_TTL_MS)
  try {
    const [user] = await db.query<UserRow>(
      `insert into users (org_id, email, name, role, invite_token_hash, invite_expires_at)
       values ($1, $2, $3, $4, $5, $6) returning ${USER_COLUMNS}`,
      [viewer.orgId, data.email, data.name, data.role, hashToken(token), expiresAt],
    )
    return { user: user!, token, expiresAt }
  } catch (err) {
    if ((err as { code?: string }).code === '23505') {
      throw new ValidationError('invalid input: email: a user with this email already exists', [
        { path: 'email', message: 'a user with this email already exists' },
      ])
    }
    throw err
  }
}

/** Thrown for a link that is unknown, used, expired, or whose user was deleted: one answer for all. */
export class InvalidInviteError extends Error {
  override name = 'InvalidInviteError'
  constructor() {
    super('this invitation link is unknown, already used or expired; ask an admin for a new one')
  }
}

const AcceptInput = z.object({
  token: z.string().max(200),
  password: z.string().min(8, 'must be at least 8 characters').max(200),
})

/** Sets the invited user's password, spends the link, and signs them in. */
export async function acceptInvite(db: Database, token: string, password: string): Promise<LoginResult> {
  const data = parseInput(AcceptInput, { token, password })
  const hash = await hashPassword(data.password)
  return db.transaction(async (tx) => {
    // Looked up by hash: the secret itself is never compared, so timing tells nothing.
    const [user] = await tx.query<UserRow>(
      `update users set password_hash = $2, invite_token_hash = null, invite_expires_at = null
        where invite_token_hash = $1 and invite_expires_at > now() and deleted_at is null
        returning ${USER_COLUMNS}`,
      [hashToken(data.token), hash],
    )
    if (!user) throw new InvalidInviteError()
    return openSession(tx, user)
  })
}
