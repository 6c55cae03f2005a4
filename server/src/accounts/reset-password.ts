import { randomBytes } from 'node:crypto'
import { announceAccessChanged } from '../auth/announce'
import { hashPassword } from '../auth/password'
import type { Database } from '../db/database'
import { NotFoundError, ValidationError } from '../errors'
import { PasswordSchema } from './users'

export interface PasswordReset {
  email: string
  /** Set when the password was generated (to be shown once). */
  generatedPassword?: string
}

/**
 * The operator's way back in (`npm run reset-password`): sets a user's password from
 * the server's own shell, without signing in. The user's sessions end (announced, so
 * open subscriptions close) and the sign-in throttle for the account is cleared, since
 * a locked-out admin is the usual reason for the reset. Without `email`, the first
 * admin of the installation (the one the first start created).
 */
export async function resetPassword(
  db: Database,
  opts: { email?: string | undefined; password?: string | undefined },
): Promise<PasswordReset> {
  if (opts.password !== undefined) {
    const checked = PasswordSchema.safeParse(opts.password)
    if (!checked.success)
      throw new ValidationError(`password: ${checked.error.issues[0]?.message ?? 'invalid'}`, [
        { path: 'password', message: checked.error.issues[0]?.message ?? 'invalid' },
      ])
  }
  const generatedPassword = opts.password === undefined ? randomBytes(12).toString('base64url') : undefined
  const hash = await hashPassword(opts.password ?? generatedPassword!)
  return db.transaction(async (tx) => {
    const [user] = opts.email
      ? await tx.query<{ id: string; org_id: string; email: string }>(
          'select id, org_id, email from users where lower(email) = lower($1) and deleted_at is null',
          [opts.email],
        )
      : await tx.query<{ id: string; org_id: string; email: string }>(
          `select id, org_id, email from users where role = 'ADMIN' and deleted_at is null
           order by created_at, id limit 1`,
        )
    if (!user) throw new NotFoundError(opts.email ? `user ${opts.email}` : 'an admin')
    await tx.query(
      'update users set password_hash = $2, invite_token_hash = null, invite_expires_at = null where id = $1',
      [user.id, hash],
    )
    await tx.query('delete from sessions where user_id = $1', [user.id])
    await tx.query('delete from login_throttle where key = $1', [`account:${user.email.toLowerCase()}`])
    await announceAccessChanged(tx, { orgId: user.org_id, userId: user.id })
    return { email: user.email, ...(generatedPassword ? { generatedPassword } : {}) }
  })
}
