import type { Json, JsonObject } from '$lib/api/types'

/** `target.key.0` → ['target', 'key', 0]: dotted paths, as the server's issue paths are written. */
function segments(path: string): (string | number)[] {
  return path.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s))
}

/** The value at a dotted path of a config, or undefined where any part is missing. */
export function getAt(root: JsonObject, path: string): Json | undefined {
  let at: Json | undefined = root
  for (const s of segments(path)) {
    if (at === null || typeof at !== 'object') return undefined
    at = (at as Record<string | number, Json>)[s]
  }
  return at
}

/**
 * Sets the value at a dotted path, making the objects and lists on the way; undefined
 * removes the key (so the kind's default applies), and an object left empty by that
 * is removed too, unless `keepEmpty`.
 */
export function setAt(root: JsonObject, path: string, value: Json | undefined): void {
  const parts = segments(path)
  const last = parts.pop()!
  let at: Record<string | number, Json> = root
  const trail: [Record<string | number, Json>, string | number][] = []
  for (const [i, s] of parts.entries()) {
    let next = at[s]
    if (next === null || typeof next !== 'object') {
      if (value === undefined) return
      next = typeof (parts[i + 1] ?? last) === 'number' ? [] : {}
      at[s] = next
    }
    trail.push([at, s])
    at = next as Record<string | number, Json>
  }
  if (value !== undefined) {
    at[last] = value
    return
  }
  if (Array.isArray(at) && typeof last === 'number') at.splice(last, 1)
  else delete at[last]
}

/** The list at a path (empty when missing). */
export function listAt(root: JsonObject, path: string): Json[] {
  const v = getAt(root, path)
  return Array.isArray(v) ? v : []
}

/** "a, b, c" ↔ ['a', 'b', 'c'] for lists of names. */
export const splitList = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)

export const joinList = (v: Json | undefined): string => (Array.isArray(v) ? v.map(String).join(', ') : '')
