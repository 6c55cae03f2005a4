import type { Definition } from '../automations/definition'
import type { Queryable } from '../db/database'
import type { CurrentVersion } from './types'
import { setBounded } from '../bounded-map'

/** The definition of an automation version, read from the database. */
export async function readDefinition(q: Queryable, versionId: string): Promise<Definition> {
  const [row] = await q.query<{ definition: Definition }>(
    'select definition from automation_versions where id = $1',
    [versionId],
  )
  if (!row) throw new Error(`automation version ${versionId} is missing`)
  return row.definition
}

export interface DefinitionCache {
  /** The definition of a version, from memory when seen before. */
  load(q: Queryable, versionId: string): Promise<Definition>
}

/**
 * Versions never change once written, so a node may keep them as long as it
 * likes; the cache belongs to the engine of one app (two apps in one process
 * on two databases must not share it: ids are per database).
 */
export function createDefinitionCache(max = 2000): DefinitionCache {
  const cache = new Map<string, Definition>()
  return {
    async load(q, versionId) {
      const hit = cache.get(versionId)
      if (hit) return hit
      const def = await readDefinition(q, versionId)
      setBounded(cache, versionId, def, max)
      return def
    },
  }
}

/** The current version of a live automation of the organization, unchecked (see ChildResolver). */
export async function readCurrentVersion(
  q: Queryable,
  child: { orgId: string; automationId: string },
): Promise<CurrentVersion | undefined> {
  const [row] = await q.query<CurrentVersion>(
    `select v.id as version_id, v.version, v.definition from automations a
     join automation_versions v on v.id = a.current_version_id
     where a.id = $1 and a.org_id = $2 and a.deleted_at is null`,
    [child.automationId, child.orgId],
  )
  return row
}
