import { z } from 'zod'
import { WAREHOUSE_ID } from '../data/domain'
import { DatasourceRef } from '../data/load/spec'
import { ValidationError } from '../errors'
import { parseInput } from '../validation'
import { cronProblem, timezoneProblem } from './cron'
import { AfterOutcome, FingerprintMode, MissedTickPolicy, OverlapPolicy, TriggerType } from './domain'

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/
const ident = (what: string) =>
  z
    .string()
    .regex(IDENT, `${what} must be a plain SQL name: letters, digits and _, not starting with a digit`)

const values = <T extends Record<string, string>>(o: T) => Object.values(o) as [T[keyof T], ...T[keyof T][]]

const interval = (min: number) =>
  z
    .number()
    .int('must be a whole number of seconds')
    .min(min, `must be at least ${min} seconds (the minimum, SWITCHYARD_TRIGGER_MIN_INTERVAL_SECONDS)`)
    .max(7 * 86_400, 'at most 7 days')

export const CronConfig = z.object({
  cron: z.string().trim().min(1, 'the cron pattern is empty').max(200),
  timezone: z.string().trim().min(1).max(100).default('UTC'),
  // ONCE: a scheduler outage costs neither a silent gap nor a flood of catch-up runs.
  missedTickPolicy: z.enum(values(MissedTickPolicy)).default('ONCE'),
  // SKIP: the same automation never runs twice at once because of its own schedule.
  overlapPolicy: z.enum(values(OverlapPolicy)).default('SKIP'),
})
export type CronConfig = z.output<typeof CronConfig>

export const WebhookConfig = z.object({
  /** Pass the whole JSON body as this one parameter (type JSON) instead of as the parameters. */
  bodyParameter: z.string().regex(IDENT, 'must be the name of a declared parameter').optional(),
  rateLimitPerMinute: z.number().int().min(1).max(100_000).optional(),
})
export type WebhookConfig = z.output<typeof WebhookConfig>

export const AfterAutomationConfig = z.object({
  automationId: z.uuid('must be an automation id'),
  on: z.enum(values(AfterOutcome)).default('SUCCESS'),
})
export type AfterAutomationConfig = z.output<typeof AfterAutomationConfig>

const datasetConfig = (min: number) =>
  z
    .object({
      /** The warehouse (a storage) or a PostgreSQL datasource, read with the run-as user's grants. */
      datasource: DatasourceRef.default(WAREHOUSE_ID),
      /** A storage name; on a datasource `table` or `schema.table`. */
      table: z
        .string()
        .regex(
          /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/,
          'the table must be table or schema.table: letters, digits and _, not starting with a digit',
        ),
      fingerprint: z.enum(values(FingerprintMode)).default('ROW_COUNT_AND_MAX'),
      /** With ROW_COUNT_AND_MAX: the column whose maximum joins the row count (e.g. updated_at). */
      column: ident('the column').optional(),
      intervalSeconds: interval(min),
      graceSeconds: z.number().int().min(0).max(86_400).default(0),
      recheck: z.boolean().default(false),
    })
    .refine((c) => c.fingerprint !== 'TABLE_STATS' || c.column === undefined, {
      path: ['column'],
      message: 'only used with fingerprint ROW_COUNT_AND_MAX',
    })
    // A storage lives in the organization's own schema; naming another schema would reach out of it.
    .refine((c) => c.datasource !== WAREHOUSE_ID || !c.table.includes('.'), {
      path: ['table'],
      message: 'a warehouse storage is a plain name, without a schema',
    })
export type DatasetChangeConfig = z.output<ReturnType<typeof datasetConfig>>

const sqlChangeConfig = (min: number) =>
  z.object({
    /** The warehouse or a PostgreSQL datasource the run-as user was granted. */
    datasource: DatasourceRef.default(WAREHOUSE_ID),
    query: z.string().trim().min(1, 'the query is empty').max(20_000),
    intervalSeconds: interval(min),
  })
export type SqlChangeConfig = z.output<ReturnType<typeof sqlChangeConfig>>

const codeConfig = (min: number) =>
  z.object({
    language: z.enum(['javascript', 'typescript', 'python']).default('javascript'),
    code: z.string().min(1, 'the script is empty').max(100_000),
    intervalSeconds: interval(min),
    timeoutMs: z.number().int().min(100).max(60_000).default(10_000),
  })
export type CodeConfig = z.output<ReturnType<typeof codeConfig>>

export interface Limits {
  minIntervalSeconds: number
}

/** The config schema of one trigger type. */
export function configSchema(type: TriggerType, limits: Limits): z.ZodType<Record<string, unknown>> {
  switch (type) {
    case 'CRON':
      return CronConfig
    case 'WEBHOOK':
      return WebhookConfig
    case 'AFTER_AUTOMATION':
      return AfterAutomationConfig
    case 'DATASET_CHANGE':
      return datasetConfig(limits.minIntervalSeconds)
    case 'SQL_CHANGE':
      return sqlChangeConfig(limits.minIntervalSeconds)
    case 'CODE':
      return codeConfig(limits.minIntervalSeconds)
  }
}

export const TriggerInputSchema = z.object({
  type: z.enum(values(TriggerType)),
  enabled: z.boolean().default(true),
  // Optional: a type whose every setting has a default (WEBHOOK) needs none; a type
  // that needs some (CRON's pattern) says which, naming the field.
  config: z.unknown().optional(),
  parameters: z.record(z.string(), z.unknown()).default({}),
})

/**
 * Validates a trigger's config for its type, issues under `config.`; for CRON
 * also the pattern and timezone, in words a user can act on.
 */
export function validateConfig(
  type: TriggerType,
  config: unknown,
  limits: Limits,
  now: Date,
): Record<string, unknown> {
  const parsed = configSchema(type, limits).safeParse(config ?? {})
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({
      path: ['config', ...i.path.map(String)].join('.'),
      message: i.message,
    }))
    throw new ValidationError(
      `invalid ${type} trigger: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      issues,
    )
  }
  if (type === 'CRON') {
    const c = parsed.data as CronConfig
    const tz = timezoneProblem(c.timezone)
    if (tz)
      throw new ValidationError(`invalid CRON trigger: ${tz}`, [{ path: 'config.timezone', message: tz }])
    const problem = cronProblem(c.cron, c.timezone, now)
    if (problem) {
      throw new ValidationError(`invalid CRON trigger: ${problem}`, [
        { path: 'config.cron', message: problem },
      ])
    }
  }
  return parsed.data
}

export interface TriggerInput {
  type: TriggerType
  enabled: boolean
  config: Record<string, unknown>
  parameters: Record<string, unknown>
}

/** Validates a whole new trigger at the boundary, before any SQL. */
export function parseTriggerInput(input: unknown, limits: Limits, now: Date): TriggerInput {
  const t = parseInput(TriggerInputSchema, input)
  return { ...t, config: validateConfig(t.type, t.config, limits, now) }
}
