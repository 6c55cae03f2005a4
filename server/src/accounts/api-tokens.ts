import { z } from 'zod'
import { announceAccessChanged } from '../auth/announce'
import { TokenPrefix, hashToken, newToken } from '../auth/tokens'
import type { UserViewer } from '../auth/viewer'
import type { Database } from '../db/database'
import { NotFoundError } from '../errors'
import { parseInput } from '../validation'

export interface ApiTokenRow {
  id: string
  name: string
  prefix: string
  created_at: Date
  expires_at: Date | null
  last_used_at: Date | null
  revoked_at: Date | null
}

const CreateInput = z.object({
  name: z.string().trim().min(1, 'give the token a name').max(100),
  expiresAt: z
    .date()
    .refine((d) => d.getTime() > Date.now(), 'must be in the future')
    .nullish(),
})

/** Creates a personal API token; the secret is returned once and only its hash is kept. */
export async function createApiToken(
  db: Database,
  viewer: UserViewer,
  input: { name: string; expiresAt?: Date | null },
): Promise<{ token: string; apiToken: ApiTokenRow }> {
  const { name, expiresAt } = parseInput(CreateInput, input)
  const token = newToken(TokenPrefix.API)
  const [row] = await db.query<ApiTokenRow>(
    `insert into api_tokens (org_id, user_id, name, token_hash, prefix, expires_at)
     values ($1, $2, $3, $4, $5, $6)
     returning id, name, prefix, created_at, expires_at, last_used_at, revoked_at`,
    [viewer.orgId, viewer.userId, name, hashToken(token), token.slice(0, 8), expiresAt ?? null],
  )
  return { token, apiToken: row! }
}

export function listApiTokens(db: Database, viewer: UserViewer): Promise<ApiTokenRow[]> {
  return db.query<ApiTokenRow>(
    `select id, name, prefix, created_at, expires_at, last_used_at, revoked_at
     from api_tokens where user_id = $1 and org_id = $2 order by created_at desc`,
    [viewer.userId, viewer.orgId],
  )
}

/** Revokes one of the viewer's own tokens (admins may revoke any of their organization's). */
export async function revokeApiToken(db: Database, viewer: UserViewer, id: string): Promise<ApiTokenRow> {
  return db.transaction(async (tx) => {
    const [row] = await tx.query<ApiTokenRow & { user_id: string }>(
      `update api_tokens set revoked_at = coalesce(revoked_at, now())
       where id = $1 and org_id = $2 and (user_id = $3 or $4)
       returning id, user_id, name, prefix, created_at, expires_at, last_used_at, revoked_at`,
      [id, viewer.orgId, viewer.userId, viewer.role === 'ADMIN'],
    )
    if (!row) throw new NotFoundError('API token')
    await announceAccessChanged(tx, { orgId: viewer.orgId, userId: row.user_id })
    const { user_id: _, ...token } = row
    return token
  })
}
