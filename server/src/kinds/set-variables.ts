import { z } from 'zod'
import { atLeast, loadFolderAccess } from '../auth/permissions'
import { runAsGrantee } from '../data/datasources/access'
import { dataContext } from '../data/kind-context'
import { firstValue, readQuery } from '../data/load/query'
import { DatasourceRef, StatementTimeout, UserQuery } from '../data/load/spec'
import { evaluateExpression } from '../data/variables/expression'
import { VariableName, checkExpression, setVariable } from '../data/variables/store'
import { defineKind, RunFailure } from './kind'

const Assignment = z
  .object({
    name: VariableName,
    /** Evaluated now; the result is stored (e.g. "formatDate(addDays(today(), -1))"). */
    expression: z.string().trim().min(1).max(4000).optional(),
    /** Stored as is. */
    value: z.unknown().optional(),
    /** The first value of the query's first row is stored. */
    query: z.object({ datasource: DatasourceRef.default('warehouse'), sql: UserQuery }).optional(),
  })
  .refine((a) => [a.expression, a.value, a.query].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one of expression, value or query',
    path: ['expression'],
  })

/** A stored value: dates as ISO strings, bigints and numerics as numbers when exact. */
function storable(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString()
  if (typeof v === 'bigint') return Number(v)
  return v
}

/**
 * Sets organization or automation variables for later runs (and later steps
 * of a chain), from a value, an expression or a query. The run-as user needs
 * the right to: an editor for organization variables, EDIT on the automation otherwise.
 */
export const setVariables = defineKind({
  kind: 'SET_VARIABLES',
  description: 'Sets organization or automation variables from values, expressions or query results.',
  configSchema: z.object({
    scope: z.enum(['ORGANIZATION', 'AUTOMATION']).default('AUTOMATION'),
    /** For AUTOMATION scope: whose variables; default this automation. */
    automationId: z.uuid().optional(),
    variables: z.array(Assignment).min(1).max(100),
    timeoutMs: StatementTimeout,
  }),
  async execute(ctx) {
    const { config, run, log } = ctx
    const d = await dataContext(ctx, config.timeoutMs)
    const db = d.data.db
    const who = await runAsGrantee(db, run.orgId, run.runAs)
    if (!who || who.role === 'VIEWER')
      throw new RunFailure('setting variables needs an editor or admin to run as')
    const target = config.scope === 'ORGANIZATION' ? null : (config.automationId ?? run.automationId)
    if (target) {
      const [a] = await db.query<{ folder_id: string | null }>(
        'select folder_id from automations where id = $1 and org_id = $2 and deleted_at is null',
        [target, run.orgId],
      )
      if (!a) throw new RunFailure(`automation ${target} does not exist`)
      const access = await loadFolderAccess(db, {
        type: 'user',
        userId: who.userId,
        orgId: run.orgId,
        role: who.role,
        email: '',
        via: 'api-token',
      })
      if (!atLeast(access.permissionFor(a.folder_id), 'EDIT'))
        throw new RunFailure(`the run-as user may not edit automation ${target}`)
    }
    const set: Record<string, unknown> = {}
    const now = new Date()
    for (const v of config.variables) {
      let value: unknown
      if (v.query) value = storable(firstValue(await readQuery(d, v.query.datasource, v.query.sql)))
      else if (v.expression !== undefined) {
        try {
          value = storable(evaluateExpression(v.expression, { now, lookup: (n) => lookup(d.values, set, n) }))
        } catch (err) {
          throw new RunFailure(`${v.name}: ${(err as Error).message}`)
        }
      } else value = v.value
      await setVariable(db, {
        orgId: run.orgId,
        automationId: target,
        by: run.runAs,
        input: { name: v.name, value: value ?? null },
      })
      set[v.name] = value
      log(
        'INFO',
        `${config.scope === 'ORGANIZATION' ? 'organization' : 'automation'} variable ${v.name} = ${JSON.stringify(value)}`,
      )
    }
    return { outputs: { scope: config.scope, automationId: target, variables: set } }
  },
  async checkSave(config) {
    config.variables.forEach((v, i) => {
      if (v.expression !== undefined) checkExpression(v.expression, `config.variables.${i}.expression`)
    })
  },
})

/** Names an expression may use: what this run sees, and what this step already set. */
function lookup(values: Record<string, unknown>, set: Record<string, unknown>, name: string) {
  const v = name in set ? set[name] : name in values ? values[name] : undefined
  if (v === undefined) throw new Error(`\${${name}} is not a variable or parameter of this run`)
  return v === null || ['string', 'number', 'boolean'].includes(typeof v)
    ? (v as string | number | boolean | null)
    : JSON.stringify(v)
}
