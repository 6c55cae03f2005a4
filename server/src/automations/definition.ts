import { z } from 'zod'
import { MutexPolicy } from '../domain'
import { typeProblem } from './parameters'

/** Types a declared parameter may have. */
export const ParameterType = {
  STRING: 'STRING',
  NUMBER: 'NUMBER',
  BOOLEAN: 'BOOLEAN',
  DATE: 'DATE',
  JSON: 'JSON',
} as const
export type ParameterType = (typeof ParameterType)[keyof typeof ParameterType]

/** Types whose parameters may list their allowed values (the run form shows a select). */
export const ENUM_TYPES: readonly ParameterType[] = ['STRING', 'NUMBER']

export const ParameterDecl = z
  .object({
    name: z
      .string()
      .regex(
        /^[A-Za-z_][A-Za-z0-9_]{0,62}$/,
        'must start with a letter or _ and hold only letters, digits and _',
      ),
    type: z.enum(Object.values(ParameterType) as [ParameterType, ...ParameterType[]]),
    required: z.boolean().default(false),
    default: z.unknown().optional(),
    description: z.string().max(500).default(''),
    /** When set, a run's value must be one of these (checked in resolveParameters). */
    allowedValues: z
      .array(z.unknown())
      .min(1, 'list at least one value, or leave allowed values out')
      .max(200, 'at most 200 values')
      .nullish(),
  })
  .superRefine((p, ctx) => {
    if (!p.allowedValues) return
    if (!ENUM_TYPES.includes(p.type)) {
      ctx.addIssue({
        code: 'custom',
        path: ['allowedValues'],
        message: `only ${ENUM_TYPES.join(' and ')} parameters take allowed values`,
      })
      return
    }
    const seen = new Set<unknown>()
    for (const [i, v] of p.allowedValues.entries()) {
      const problem = typeProblem(p.type, v) ?? (seen.has(v) ? 'is listed twice' : null)
      if (problem)
        ctx.addIssue({
          code: 'custom',
          path: ['allowedValues', i],
          message: `${JSON.stringify(v)} ${problem}`,
        })
      seen.add(v)
    }
  })
export type ParameterDecl = z.infer<typeof ParameterDecl>

export const RetryPolicy = z.object({
  maxAttempts: z.number().int().min(1, 'at least 1 (no retry)').max(20).default(1),
  /** First backoff; each retry doubles it, with jitter. */
  backoffMs: z.number().int().min(0).max(3_600_000).default(1000),
})

export const MutexSettings = z.object({
  name: z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(100)
    .regex(/^[\w.:/-]+$/, 'may hold letters, digits and . _ : / -'),
  policy: z.enum(Object.values(MutexPolicy) as [MutexPolicy, ...MutexPolicy[]]).default('QUEUE'),
})

/**
 * The immutable snapshot stored in automation_versions.definition: everything
 * a worker needs to execute a run of this version.
 */
export interface Definition {
  name: string
  kind: string
  config: unknown
  parameters: ParameterDecl[]
  timeoutMs: number | null
  retry: { maxAttempts: number; backoffMs: number }
  mutex: { name: string; policy: MutexPolicy } | null
  runAsUserId: string | null
  allowAllUsersToRun: boolean
  folderId: string | null
}

/** Backoff before attempt `attempt` (2, 3, ...): doubling from the base, with ±25% jitter, capped at one hour. */
export function backoffMs(base: number, attempt: number): number {
  const raw = Math.min(base * 2 ** Math.max(0, attempt - 2), 3_600_000)
  return Math.round(raw * (0.75 + Math.random() * 0.5))
}
