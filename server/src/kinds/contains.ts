import { childAutomationIds } from '../automations/access'
import type { Database } from '../db/database'

interface Saved {
  id: string
  kind: string
  config: unknown
}

/** Every live automation of the organization with its current config: what save checks walk. */
export async function loadOrgAutomations(db: Database, orgId: string): Promise<Map<string, Saved>> {
  const found = await db.query<Saved>(
    `select a.id, a.kind, v.definition->'config' as config from automations a
     join automation_versions v on v.id = a.current_version_id
     where a.org_id = $1 and a.deleted_at is null`,
    [orgId],
  )
  return new Map(found.map((a) => [a.id, a]))
}

/**
 * The path by which an automation would contain itself when given these children,
 * through chains and workflows at any depth; null when it would not.
 */
export function pathToSelf(
  self: string,
  children: readonly string[],
  byId: ReadonlyMap<string, Saved>,
): string[] | null {
  const seen = new Set<string>()
  const walk = (id: string, path: string[]): string[] | null => {
    if (id === self) return path
    if (seen.has(id)) return null
    seen.add(id)
    const a = byId.get(id)
    if (!a) return null
    for (const child of childAutomationIds(a)) {
      const found = walk(child, [...path, child])
      if (found) return found
    }
    return null
  }
  for (const child of children) {
    const found = walk(child, [child])
    if (found) return found
  }
  return null
}
