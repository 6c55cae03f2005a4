import type { Queryable } from '../db/database'
import { openSecrets } from '../secrets/store'

const REFERENCE = /\$\{secret\.([A-Za-z_][A-Za-z0-9_]*)\}/g

/** Secret names a connection's settings refer to, anywhere in them. */
export function secretNamesIn(config: unknown): string[] {
  const names = new Set<string>()
  const scan = (v: unknown) => {
    if (typeof v === 'string') for (const m of v.matchAll(REFERENCE)) names.add(m[1]!)
    else if (Array.isArray(v)) v.forEach(scan)
    else if (v && typeof v === 'object') Object.values(v).forEach(scan)
  }
  scan(config)
  return [...names].sort()
}

/** The names among `names` that are not secrets of the organization (checked at save). */
export async function missingSecrets(
  q: Queryable,
  orgId: string,
  names: readonly string[],
): Promise<string[]> {
  if (names.length === 0) return []
  const rows = await q.query<{ name: string }>(
    'select name from secrets where org_id = $1 and name = any($2::text[])',
    [orgId, names],
  )
  return names.filter((n) => !rows.some((r) => r.name === n))
}

/**
 * The connection's settings with every `${secret.NAME}` replaced by its value, just
 * before a send; the values never reach the database, a log or a delivery's error.
 */
export async function withSecretValues<T>(
  q: Queryable,
  key: Buffer,
  orgId: string,
  config: T,
): Promise<{ config: T; values: ReadonlyMap<string, string> }> {
  const { values } = await openSecrets(q, key, orgId, secretNamesIn(config))
  const fill = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(REFERENCE, (_m, name: string) => values.get(name) ?? '')
    if (Array.isArray(v)) return v.map(fill)
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]))
    return v
  }
  return { config: fill(config) as T, values }
}
