import { z } from 'zod'
import { getKind } from './registry'

/**
 * A kind's config schema as JSON Schema, the input side (defaults make fields optional):
 * the dashboard builds a form from it for a kind that has no hand-made one. Refinements
 * and transforms are not representable and are left out; the server still applies them.
 */
export function kindConfigSchema(kind: string): Record<string, unknown> | null {
  const k = getKind(kind)
  if (!k) return null
  return z.toJSONSchema(k.configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>
}
