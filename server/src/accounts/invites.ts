import { z } from 'zod'
import { hashPassword } from '../auth/password'
import { TokenPrefix, hashToken, newToken } from '../auth/tokens'
import type { UserViewer } from '../auth/viewer'
import type { Database } from '../db/database'
import { parseInput } from '../validation'
import { type LoginResult, openSession } from './sessions'
import { NewUserInput, PasswordSchema, USER_COLUMNS, type UserRow, insertUser } from './users'

/** How long an invitation link works. */
export const INVITE_TTL_MS = 7 * 24 * 3600 * 1000

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
  input: z.input<typeof NewUserInput>,
): Promise<Invitation> {
  const data = parseInput(NewUserInput, input)
  const token = newToken(TokenPrefix.INVITE)
  const expiresAt = new Date(Date.now() + INVITE_TTL_MS)
  const user = await insertUser(db, viewer.orgId, data, {
    inviteTokenHash: hashToken(token),
    inviteExpiresAt: expiresAt,
  })
  return { user, token, expiresAt }
}

/** Thrown for a link that is unknown, used, expired, or whose user was deleted: one answer for all. */
export class InvalidInviteError extends Error {
  override name = 'InvalidInviteError'
  constructor() {
    super('this invitation link is unknown, already used or expired; ask an admin for a new one')
  }
}

const AcceptInput = z.object({ token: z.string().max(200), password: PasswordSchema })

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
