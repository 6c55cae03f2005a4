import type { Definition } from '../automations/definition'
import type { Queryable } from '../db/database'

// Versions never change once written, so every node may cache them forever.
const cache = new Map<string, Definition>()
const MAX = 2000

/** The definition of an automation version, from memory when seen before. */
export async function loadDefinition(q: Queryable, versionId: string): Promise<Definition> {
  const hit = cache.get(versionId)
  if (hit) return hit
  const [row] = await q.query<{ definition: Definition }>(
    'select definition from automation_versions where id = $1',
    [versionId],
  )
  if (!row) throw new Error(`automation version ${versionId} is missing`)
  if (cache.size >= MAX) cache.delete(cache.keys().next().value!)
  cache.set(versionId, row.definition)
  return row.definition
}

export interface CurrentVersion {
  versionId: string
  version: number
  definition: Definition
}

/** The current version of a live automation of the organization, or undefined. */
export async function currentVersion(
  q: Queryable,
  orgId: string,
  automationId: string,
): Promise<CurrentVersion | undefined> {
  const [row] = await q.query<{ version_id: string; version: number; definition: Definition }>(
    `select v.id as version_id, v.version, v.definition from automations a
     join automation_versions v on v.id = a.current_version_id
     where a.id = $1 and a.org_id = $2 and a.deleted_at is null`,
    [automationId, orgId],
  )
  return row && { versionId: row.version_id, version: row.version, definition: row.definition }
}
