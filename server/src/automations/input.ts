import { z } from 'zod'
import { ValidationError } from '../errors'
import { getKind, listKinds } from '../kinds/registry'
import { parseInput } from '../validation'
import { type Definition, MutexSettings, ParameterDecl, RetryPolicy } from './definition'
import { resolveParameters } from './parameters'

export const AutomationInputSchema = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(200, 'at most 200 characters'),
  description: z.string().max(5000).default(''),
  kind: z.string().refine((k) => getKind(k) !== undefined, {
    message: `unknown kind; use one of ${listKinds()
      .map((k) => k.kind)
      .join(', ')}`,
  }),
  folderId: z.uuid('must be a folder id').nullish(),
  config: z.unknown(),
  parameters: z.array(ParameterDecl).max(100).default([]),
  timeoutMs: z
    .number()
    .int()
    .min(100, 'at least 100 ms')
    .max(7 * 86_400_000, 'at most 7 days')
    .nullish(),
  retry: RetryPolicy.nullish(),
  mutex: MutexSettings.nullish(),
  runAsUserId: z.uuid('must be a user id').nullish(),
  allowAllUsersToRun: z.boolean().default(false),
})
export type AutomationInput = z.input<typeof AutomationInputSchema>

/**
 * Validates an automation as a whole: fields, then the kind's own config
 * schema (issues under `config.`), then parameter declarations and defaults.
 */
export function validateAutomation(input: unknown): Definition {
  const a = parseInput(AutomationInputSchema, input)
  const kind = getKind(a.kind)!
  const parsed = kind.configSchema.safeParse(a.config ?? {})
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({
      path: ['config', ...i.path.map(String)].join('.'),
      message: i.message,
    }))
    throw new ValidationError(
      `invalid config for ${a.kind}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      issues,
    )
  }
  const names = new Set<string>()
  for (const [i, p] of a.parameters.entries()) {
    if (names.has(p.name)) {
      throw new ValidationError(`invalid parameters: ${p.name} is declared twice`, [
        { path: `parameters.${i}.name`, message: 'is declared twice' },
      ])
    }
    names.add(p.name)
  }
  // Defaults must themselves be valid values of their declared type (and allowed values),
  // each problem named at the declaration's default field, where the editor shows it.
  const defaults = Object.fromEntries(
    a.parameters.filter((p) => p.default !== undefined).map((p) => [p.name, p.default]),
  )
  try {
    resolveParameters(
      a.parameters.map((p) => ({ ...p, required: false })),
      defaults,
    )
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err
    const issues = err.issues.map((i) => {
      const index = a.parameters.findIndex((p) => `parameters.${p.name}` === i.path)
      return { path: `parameters.${index}.default`, message: i.message }
    })
    throw new ValidationError(
      `invalid parameters: ${issues.map((i) => `${i.path}: default ${i.message}`).join('; ')}`,
      issues,
    )
  }
  return {
    name: a.name,
    kind: a.kind,
    config: parsed.data,
    parameters: a.parameters,
    timeoutMs: a.timeoutMs ?? null,
    retry: a.retry ?? { maxAttempts: 1, backoffMs: 1000 },
    mutex: a.mutex ?? null,
    runAsUserId: a.runAsUserId ?? null,
    allowAllUsersToRun: a.allowAllUsersToRun,
    folderId: a.folderId ?? null,
  }
}
