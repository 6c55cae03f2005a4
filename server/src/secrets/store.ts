import type { Queryable } from '../db/database'
import { open, seal } from '../data/crypto'

export interface SecretRow {
  id: string
  org_id: string
  name: string
  description: string
  created_by: string | null
  updated_by: string | null
  created_at: Date
  updated_at: Date
}

export const SECRET_COLUMNS = 'id, org_id, name, description, created_by, updated_by, created_at, updated_at'

/** The sealed value is bound to its organization and name: copied to another row, it does not open. */
const contextOf = (orgId: string, name: string) => `secret:${orgId}:${name}`

export function listSecrets(q: Queryable, orgId: string): Promise<SecretRow[]> {
  return q.query<SecretRow>(`select ${SECRET_COLUMNS} from secrets where org_id = $1 order by name`, [orgId])
}

/** Creates a secret or rotates its value (the old value is gone). */
export async function putSecret(
  q: Queryable,
  key: Buffer,
  s: { orgId: string; name: string; value: string; description: string; by: string },
): Promise<{ row: SecretRow; created: boolean }> {
  const [row] = await q.query<SecretRow & { created: boolean }>(
    `insert into secrets (org_id, name, sealed, description, created_by, updated_by) values ($1, $2, $3, $4, $5, $5)
     on conflict (org_id, name) do update set sealed = excluded.sealed, description = excluded.description,
       updated_by = excluded.updated_by, updated_at = now()
     returning ${SECRET_COLUMNS}, (xmax = 0) as created`,
    [s.orgId, s.name, seal(key, s.value, contextOf(s.orgId, s.name)), s.description, s.by],
  )
  const { created, ...secret } = row!
  return { row: secret, created }
}

export async function deleteSecret(
  q: Queryable,
  orgId: string,
  name: string,
): Promise<SecretRow | undefined> {
  const [row] = await q.query<SecretRow>(
    `delete from secrets where org_id = $1 and name = $2 returning ${SECRET_COLUMNS}`,
    [orgId, name],
  )
  return row
}

/**
 * Opens the named secrets for one run and records that its automation used
 * them. A name with no secret fails the run, naming it.
 */
export async function openSecretsForRun(
  q: Queryable,
  key: Buffer,
  run: { orgId: string; automationId: string; runId: string },
  names: readonly string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  if (names.length === 0) return out
  const rows = await q.query<{ id: string; name: string; sealed: string }>(
    'select id, name, sealed from secrets where org_id = $1 and name = any($2::text[])',
    [run.orgId, names],
  )
  const missing = names.filter((n) => !rows.some((r) => r.name === n))
  if (missing.length > 0)
    throw new Error(
      `\${secret.${missing[0]}} is not a secret of this organization; an admin adds it on the Secrets page`,
    )
  for (const r of rows) out.set(r.name, open(key, r.sealed, contextOf(run.orgId, r.name)))
  await q.query(
    `insert into secret_usages (secret_id, automation_id, org_id, last_run_id)
     select unnest($1::uuid[]), $2, $3, $4
     on conflict (secret_id, automation_id) do update set uses = secret_usages.uses + 1,
       last_run_id = excluded.last_run_id, last_used_at = now()`,
    [rows.map((r) => r.id), run.automationId, run.orgId, run.runId],
  )
  return out
}

/**
 * Opens named secrets of an organization outside a run (reporters' channel connections).
 * A name with no secret throws, naming it.
 */
export async function openSecrets(
  q: Queryable,
  key: Buffer,
  orgId: string,
  names: readonly string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  if (names.length === 0) return out
  const rows = await q.query<{ name: string; sealed: string }>(
    'select name, sealed from secrets where org_id = $1 and name = any($2::text[])',
    [orgId, names],
  )
  const missing = names.filter((n) => !rows.some((r) => r.name === n))
  if (missing.length > 0)
    throw new Error(
      `\${secret.${missing[0]}} is not a secret of this organization; an admin adds it on the Secrets page`,
    )
  for (const r of rows) out.set(r.name, open(key, r.sealed, contextOf(orgId, r.name)))
  return out
}
