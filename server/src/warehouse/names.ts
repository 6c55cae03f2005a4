import { createHmac } from 'node:crypto'

/**
 * An organization's warehouse database and role (one name for both) and the
 * role's password. The name is a keyed hash: it says nothing about the
 * organization (catalogs such as pg_database and pg_roles are visible to
 * every role on a server), yet every node derives the same one. It is also
 * stored in the platform's `warehouses` table, so an operator can find it.
 */
export function warehouseIdentity(orgId: string, secretKey: Buffer): { name: string; password: string } {
  if (!/^[0-9a-f]{8}(-?[0-9a-f]{4}){3}-?[0-9a-f]{12}$/i.test(orgId))
    throw new Error('invalid organization id')
  const id = orgId.toLowerCase()
  return {
    name: `sy_w_${createHmac('sha256', secretKey).update(`warehouse-name:${id}`).digest('hex').slice(0, 24)}`,
    // Derived, never stored: every node computes the same password from the shared secret key.
    password: createHmac('sha256', secretKey).update(`warehouse:${orgId}`).digest('hex'),
  }
}

/** The schema the warehouse of a platform from before one database per organization had, in the platform's database. */
export function legacySchema(orgId: string): { schema: string; role: string } {
  const hex = orgId.replace(/-/g, '').toLowerCase()
  return { schema: `wh_${hex}`, role: `sy_wh_${hex}` }
}

/**
 * Turns `${name}` into $1, $2 ... outside quoted strings and identifiers, so
 * values are always bound as parameters and never pasted into SQL.
 */
export function bindParameters(
  statement: string,
  values: Record<string, unknown>,
  /** Parameters of the statement this one is embedded in: numbering continues after them. */
  into: unknown[] = [],
): { text: string; params: unknown[] } {
  const params = into
  const index = new Map<string, number>()
  let out = ''
  let i = 0
  while (i < statement.length) {
    const ch = statement[i]!
    if (ch === "'" || ch === '"') {
      const end = closingQuote(statement, i, ch)
      out += statement.slice(i, end)
      i = end
      continue
    }
    if (ch === '$' && statement[i + 1] === '{') {
      const close = statement.indexOf('}', i)
      const name = close > 0 ? statement.slice(i + 2, close) : ''
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        if (!(name in values)) throw new Error(`\${${name}} is not a variable or parameter of this run`)
        if (!index.has(name)) {
          const v = values[name]
          params.push(v !== null && typeof v === 'object' ? JSON.stringify(v) : v)
          index.set(name, params.length)
        }
        out += `$${index.get(name)}`
        i = close + 1
        continue
      }
    }
    out += ch
    i++
  }
  return { text: out, params }
}

function closingQuote(s: string, start: number, q: string): number {
  let i = start + 1
  while (i < s.length) {
    if (s[i] === q) {
      if (s[i + 1] === q) {
        i += 2
        continue
      }
      return i + 1
    }
    i++
  }
  return s.length
}
