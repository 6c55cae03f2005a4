import type { z } from 'zod'
import { ValidationError } from './errors'

/**
 * Validates outside input at the boundary, before any SQL. The error lists each
 * bad field with what is wrong, in words a user can act on.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what = 'input'): z.output<S> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issues = result.error.issues.map((i) => ({
    path: i.path.map(String).join('.') || what,
    message: i.message,
  }))
  const summary = issues.map((i) => `${i.path}: ${i.message}`).join('; ')
  throw new ValidationError(`invalid ${what}: ${summary}`, issues)
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const RUN_ID = /^[1-9][0-9]{0,17}$/

/** True for a well-formed UUID; anything else cannot name an object and is treated as not found. */
export const isUuid = (s: string): boolean => UUID.test(s)
/** True for a well-formed run id (int8). */
export const isRunId = (s: string): boolean => RUN_ID.test(s)
