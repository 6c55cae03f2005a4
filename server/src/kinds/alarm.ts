import { z } from 'zod'
import type { Queryable } from '../db/database'
import { dataContext } from '../data/kind-context'
import { asNumber, firstValue, readQuery } from '../data/load/query'
import { DatasourceRef, StatementTimeout, UserQuery } from '../data/load/spec'
import { report } from '../data/reporters/send'
import { ReporterSpec } from '../data/reporters/types'
import { interpolate } from './interpolate'
import { RunFailure, defineKind } from './kind'

const OPERATORS = {
  '>': (v: number, t: number) => v > t,
  '>=': (v: number, t: number) => v >= t,
  '<': (v: number, t: number) => v < t,
  '<=': (v: number, t: number) => v <= t,
  '==': (v: number, t: number) => v === t,
  '!=': (v: number, t: number) => v !== t,
} as const

/**
 * Compares a query's value with a threshold; when the alarm condition holds it
 * notifies its reporters. A triggered alarm is a successful run (it did its
 * job) unless failWhenTriggered is set; a reporter that fails fails the run.
 */
export const alarm = defineKind({
  kind: 'ALARM',
  description: 'Compares a query value with a threshold and notifies reporters when it is crossed.',
  configSchema: z.object({
    source: z.object({
      datasource: DatasourceRef.default('warehouse'),
      query: UserQuery,
    }),
    operator: z.enum(Object.keys(OPERATORS) as [keyof typeof OPERATORS, ...(keyof typeof OPERATORS)[]]),
    threshold: z.number(),
    /** `${value}`, `${threshold}` and variables are filled in. */
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Switchyard ${variable} template, filled at run time
    message: z.string().max(4000).default('alarm: ${value} ${operator} ${threshold}'),
    reporters: z.array(ReporterSpec).min(1, 'an alarm needs a reporter').max(20),
    failWhenTriggered: z.boolean().default(false),
    /** EVERY_RUN: notify on each run where the condition holds; CROSSING: only when the previous run's did not. */
    notifyOn: z.enum(['EVERY_RUN', 'CROSSING']).default('EVERY_RUN'),
    timeoutMs: StatementTimeout,
  }),
  async execute(ctx) {
    const { config, log, run } = ctx
    const d = await dataContext(ctx, config.timeoutMs)
    const raw = firstValue(await readQuery(d, config.source.datasource, config.source.query))
    const value = asNumber(raw) ?? null
    if (raw !== null && value === null)
      throw new RunFailure(`the alarm query returned ${JSON.stringify(raw)}, not a number`)
    const triggered = value !== null && OPERATORS[config.operator](value, config.threshold)
    log(
      triggered ? 'WARN' : 'INFO',
      `value ${value ?? 'null'} ${config.operator} ${config.threshold}: ${triggered ? 'triggered' : 'not triggered'}`,
    )
    const quiet = { value, threshold: config.threshold, operator: config.operator, triggered, notified: [] }
    if (!triggered) return { outputs: quiet }
    if (config.notifyOn === 'CROSSING' && (await wasTriggered(d.data.db, run.automationId, run.id))) {
      log('INFO', 'the previous run was already past the threshold: not notifying again (notifyOn CROSSING)')
      return { outputs: quiet }
    }
    const [a] = await d.data.db.query<{ name: string }>('select name from automations where id = $1', [
      run.automationId,
    ])
    let message: string
    try {
      // Layered on the variables without spreading them: spreading would evaluate every expression.
      const values = Object.assign(Object.create(d.values) as Record<string, unknown>, {
        value,
        threshold: config.threshold,
        operator: config.operator,
      })
      message = interpolate(config.message, values, String)
    } catch (err) {
      throw new RunFailure(`message: ${(err as Error).message}`)
    }
    const notified = await report(
      d.data,
      config.reporters,
      {
        kind: 'ALARM',
        organizationId: run.orgId,
        automationId: run.automationId,
        automation: a?.name ?? '',
        runId: run.id,
        message,
        value,
        threshold: config.threshold,
        operator: config.operator,
        triggeredAt: new Date().toISOString(),
      },
      ctx.signal,
    )
    log('INFO', `notified ${notified.join(', ')}`)
    const outputs = {
      value,
      threshold: config.threshold,
      operator: config.operator,
      triggered,
      message,
      notified,
    }
    if (config.failWhenTriggered) throw new RunFailure(message, outputs)
    return { outputs }
  },
})

/** Whether the last finished run of this alarm before this one found its condition holding. */
async function wasTriggered(db: Queryable, automationId: string, runId: string): Promise<boolean> {
  const [prev] = await db.query<{ triggered: boolean | null }>(
    `select (outputs->>'triggered')::boolean as triggered from runs
      where automation_id = $1 and id < $2 and state in ('SUCCEEDED', 'FAILED') and outputs ? 'triggered'
      order by id desc limit 1`,
    [automationId, runId],
  )
  return prev?.triggered === true
}
