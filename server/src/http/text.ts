/**
 * PostgreSQL cannot store NUL in text or jsonb, and a lone UTF-16 surrogate is
 * not text at all: either would reach the database as an unexpected error.
 * Returns the path of the first string (or object key) holding one, or null.
 */
export function badTextPath(value: unknown, path: string): string | null {
  if (typeof value === 'string') return badText(value) ? path : null
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const p = badTextPath(v, `${path}.${i}`)
      if (p) return p
    }
    return null
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (badText(k)) return `${path}.${[...k].map((c) => (badText(c) ? '?' : c)).join('')}`
      const p = badTextPath(v, `${path}.${k}`)
      if (p) return p
    }
  }
  return null
}

/** What badTextPath's path holds, said so a user can fix it. */
export const BAD_TEXT = 'must not contain NUL characters or unpaired UTF-16 surrogates'

const UNPAIRED = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

function badText(s: string): boolean {
  return s.includes('\u0000') || UNPAIRED.test(s)
}
