import type { Json, JsonObject } from '$lib/api/types'

/** The part of a JSON Schema (as zod publishes a config's) that the generic form draws. */
export interface PropSchema {
  type?: string
  enum?: string[]
  const?: string
  default?: unknown
  description?: string
  title?: string
  minimum?: number
  maximum?: number
  properties?: Record<string, PropSchema>
  required?: string[]
  items?: PropSchema
  anyOf?: PropSchema[]
  oneOf?: PropSchema[]
}

/** Levels of nested objects drawn as fields; anything deeper is one JSON field. */
export const MAX_DEPTH = 3

export type FieldKind = 'select' | 'text' | 'number' | 'checkbox' | 'list' | 'object' | 'objects' | 'json'

const branchesOf = (p: PropSchema) => p.oneOf ?? p.anyOf ?? []

/** An object drawn as fields: it has properties, or it is a union told apart by one key. */
const isObject = (p: PropSchema) =>
  (p.type === 'object' && p.properties !== undefined) || discriminator(p) !== null

/** How a property is drawn at `depth` (0: the config's own keys). */
export function fieldKind(p: PropSchema, depth: number): FieldKind {
  if (Array.isArray(p.enum)) return 'select'
  if (p.type === 'string' || (branchesOf(p).length > 0 && branchesOf(p).every((b) => b.type === 'string')))
    return 'text'
  if (p.type === 'number' || p.type === 'integer') return 'number'
  if (p.type === 'boolean') return 'checkbox'
  if (p.type === 'array' && p.items?.type === 'string' && !p.items.enum) return 'list'
  if (depth < MAX_DEPTH && isObject(p)) return 'object'
  if (depth < MAX_DEPTH && p.type === 'array' && p.items && isObject(p.items)) return 'objects'
  return 'json'
}

/**
 * The key that tells the branches of a union of objects apart (Slack's `mode`): every branch
 * has it as a constant. Null when the schema is no such union.
 */
export function discriminator(p: PropSchema): string | null {
  const branches = branchesOf(p)
  if (branches.length < 2 || !branches.every((b) => b.type === 'object' && b.properties)) return null
  const first = branches[0]!.properties!
  return (
    Object.keys(first).find((k) => branches.every((b) => typeof b.properties?.[k]?.const === 'string')) ??
    null
  )
}

/** The object schema to draw for a value: the union branch its discriminator names (else the first). */
export function shownBranch(
  p: PropSchema,
  value: Json | undefined,
): { schema: PropSchema; key: string | null } {
  const key = discriminator(p)
  if (key === null) return { schema: p, key }
  const picked =
    value && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject)[key] : undefined
  const branches = branchesOf(p)
  return { schema: branches.find((b) => b.properties?.[key]?.const === picked) ?? branches[0]!, key }
}

/** The values the discriminator takes, one per branch. */
export const discriminatorValues = (p: PropSchema, key: string): string[] =>
  branchesOf(p).map((b) => String(b.properties?.[key]?.const))

/** `webhookUrl` → "Webhook url": a readable label when the schema gives no title. */
export function labelOf(key: string, p: PropSchema): string {
  if (p.title) return p.title
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/_/g, ' ')
    .toLowerCase()
  return words.charAt(0).toUpperCase() + words.slice(1)
}

/** A select's options: the default first (what a missing key shows), an empty choice when optional. */
export function selectOptions(p: PropSchema, required: boolean): string[] {
  const values = (p.enum ?? []).map(String)
  if (p.default !== undefined) return [String(p.default), ...values.filter((v) => v !== String(p.default))]
  return required ? values : ['', ...values]
}

export const hintOf = (p: PropSchema, required: boolean): string =>
  [
    p.description,
    p.default !== undefined ? `Default ${JSON.stringify(p.default)}` : required ? 'Required' : '',
  ]
    .filter(Boolean)
    .join('. ')
