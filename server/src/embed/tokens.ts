import type { EmbedViewer } from '../auth/viewer'
import type { Database } from '../db/database'

export interface EmbedTokenRow {
  id: string
  org_id: string
  name: string
  automation_ids: string[]
  allowed_origins: string[]
  expires_at: Date | null
  revoked_at: Date | null
  created_at: Date
}

export const EMBED_COLUMNS =
  'id, org_id, name, automation_ids, allowed_origins, expires_at, revoked_at, created_at'

/** An embed token that is live (not revoked, not expired, its creator not deleted) becomes an EmbedViewer. */
export async function authenticateEmbed(db: Database, hash: string): Promise<EmbedViewer | undefined> {
  const [row] = await db.query<EmbedTokenRow>(
    `select ${EMBED_COLUMNS} from embed_tokens
     where token_hash = $1 and revoked_at is null and (expires_at is null or expires_at > now())
       -- A token dies with its creator (deleteUser also revokes it; this covers older rows).
       and not exists (select 1 from users u where u.id = embed_tokens.created_by and u.deleted_at is not null)`,
    [hash],
  )
  if (!row) return undefined
  return {
    type: 'embed',
    tokenId: row.id,
    orgId: row.org_id,
    automationIds: row.automation_ids,
    allowedOrigins: row.allowed_origins,
  }
}

/** True when the request's Origin is one the token allows ("*" allows any). */
export function originAllowed(viewer: EmbedViewer, origin: string | undefined): boolean {
  if (viewer.allowedOrigins.includes('*')) return true
  return origin !== undefined && viewer.allowedOrigins.includes(origin)
}
