import { z } from 'zod'
import { TableName } from '../identifiers'
import { DatasourceRef, UserQuery } from '../load/spec'
import { MetricName } from '../metrics/spec'

const Severity = z.enum(['ERROR', 'WARNING'])

/**
 * How a value is judged. MIN/MAX/RANGE: outside the hard bounds is ERROR,
 * outside the soft ones WARNING. EQUALS: anything else is `onFail`. CHANGE:
 * moving more than maxPct (softMaxPct) percent since the previous value.
 * OUTCOME: the value itself says OK / WARNING / ERROR (or true / false).
 */
export const CheckRule = z.discriminatedUnion('type', [
  z.object({ type: z.literal('MIN'), min: z.number(), softMin: z.number().optional() }),
  z.object({ type: z.literal('MAX'), max: z.number(), softMax: z.number().optional() }),
  z.object({
    type: z.literal('RANGE'),
    min: z.number(),
    max: z.number(),
    softMin: z.number().optional(),
    softMax: z.number().optional(),
  }),
  z.object({
    type: z.literal('EQUALS'),
    value: z.union([z.number(), z.string(), z.boolean()]),
    onFail: Severity.default('ERROR'),
  }),
  z.object({
    type: z.literal('CHANGE'),
    maxPct: z.number().min(0),
    softMaxPct: z.number().min(0).optional(),
    direction: z.enum(['ANY', 'UP', 'DOWN']).default('ANY'),
  }),
  z.object({ type: z.literal('OUTCOME') }),
])
export type CheckRule = z.output<typeof CheckRule>

/** A check: a value (the latest of a metric, or a custom query's) and a rule. */
export const CheckSpec = z
  .object({
    name: MetricName,
    metric: z
      .object({ datasource: DatasourceRef.default('warehouse'), table: TableName, name: MetricName })
      .optional(),
    sql: z
      .object({
        datasource: DatasourceRef.default('warehouse'),
        query: UserQuery,
      })
      .optional(),
    rule: CheckRule,
    /** A blocking check that fails makes the run fail (and stops a chain). */
    blocking: z.boolean().default(true),
  })
  .refine((c) => (c.metric ? 1 : 0) + (c.sql ? 1 : 0) === 1, {
    message: 'give either metric or sql',
    path: ['metric'],
  })
export type CheckSpec = z.output<typeof CheckSpec>
