import { z } from 'zod'
import { getKind } from './registry'

/**
 * A zod schema as JSON Schema, the input side (defaults make fields optional): the dashboard
 * builds a form from it (a kind's config, a channel's settings, a reporter's target).
 * Refinements and transforms are not representable and are left out; the server still applies them.
 */
export const inputJsonSchema = (schema: z.ZodType): Record<string, unknown> =>
  z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>

/** A kind's config schema, for a kind that has no hand-made form. */
export function kindConfigSchema(kind: string): Record<string, unknown> | null {
  const k = getKind(kind)
  return k ? inputJsonSchema(k.configSchema) : null
}
