import { userOf } from '../../accounts/graphql'
import { atLeast } from '../../auth/permissions'
import { automationPermission } from '../../automations/access'
import { getVisibleAutomation } from '../../automations/service'
import { ForbiddenError, NotFoundError, ValidationError } from '../../errors'
import { builder } from '../../graphql/builder'
import type { Context } from '../../graphql/context'
import { COMMON_ERRORS } from '../../graphql/errors'
import { ExpressionError, evaluateExpression } from './expression'
import { scopeValues } from './resolve'
import { type VariableRow, deleteVariable, listVariables, setVariable } from './store'

const ScopeEnum = builder.enumType('VariableScope', { values: ['ORGANIZATION', 'AUTOMATION'] as const })

const VariableType = builder.objectRef<VariableRow & { current?: unknown }>('Variable').implement({
  description:
    'A value or an expression; organization scope is overridden by automation scope, which run parameters override',
  fields: (t) => ({
    name: t.exposeString('name'),
    scope: t.field({ type: ScopeEnum, resolve: (v) => (v.automation_id ? 'AUTOMATION' : 'ORGANIZATION') }),
    automationId: t.exposeID('automation_id', { nullable: true }),
    value: t.field({ type: 'JSON', nullable: true, resolve: (v) => v.value ?? null }),
    expression: t.exposeString('expression', { nullable: true }),
    current: t.field({
      type: 'JSON',
      nullable: true,
      description: 'What a run would see now (the expression evaluated), or the error',
      resolve: (v) => v.current ?? null,
    }),
    updatedAt: t.field({ type: 'DateTime', resolve: (v) => v.updated_at }),
  }),
})

/** Organization variables need an editor; automation variables need EDIT on the automation. */
async function editableScope(ctx: Context, automationId: string | null | undefined): Promise<string | null> {
  const viewer = userOf(ctx)
  if (!automationId) {
    if (viewer.role === 'VIEWER') throw new ForbiddenError('viewers may not change organization variables')
    return null
  }
  const a = await getVisibleAutomation(ctx, automationId)
  if (!atLeast(await automationPermission(ctx, a), 'EDIT'))
    throw new ForbiddenError('you may not edit this automation')
  return a.id
}

/** Adds `current` to each row: the value a run would see, evaluated now (or the error). */
function withCurrent(rows: VariableRow[]): (VariableRow & { current: unknown })[] {
  const now = new Date()
  const all = scopeValues(rows, {}, now)
  const org = scopeValues(
    rows.filter((r) => !r.automation_id),
    {},
    now,
  )
  return rows.map((r) => {
    let current: unknown
    try {
      current = (r.automation_id ? all : org)[r.name]
    } catch (err) {
      current = { error: (err as Error).message }
    }
    return { ...r, current }
  })
}

builder.queryField('variables', (t) =>
  t.field({
    type: [VariableType],
    authScopes: { user: true },
    description: 'Organization variables, plus the automation’s own when automationId is given',
    args: { automationId: t.arg.id({ required: false }) },
    resolve: async (_r, args, ctx) => {
      const viewer = userOf(ctx)
      const automationId = args.automationId
        ? (await getVisibleAutomation(ctx, String(args.automationId))).id
        : null
      return withCurrent(await listVariables(ctx.services.db, viewer.orgId, automationId))
    },
  }),
)

const SetInput = builder.inputType('SetVariableInput', {
  fields: (t) => ({
    name: t.string(),
    automationId: t.id({ required: false, description: 'Omit for an organization variable' }),
    value: t.field({ type: 'JSON', required: false }),
    expression: t.string({ required: false, description: 'e.g. formatDate(addDays(today(), -1))' }),
  }),
})

builder.mutationField('setVariable', (t) =>
  t.field({
    type: VariableType,
    authScopes: { user: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'variable' } },
    args: { input: t.arg({ type: SetInput }) },
    resolve: async (_r, { input }, ctx) => {
      const automationId = await editableScope(ctx, input.automationId ? String(input.automationId) : null)
      const row = await setVariable(ctx.services.db, {
        orgId: userOf(ctx).orgId,
        automationId,
        by: userOf(ctx).userId,
        input: {
          name: input.name,
          value: input.value ?? undefined,
          expression: input.expression ?? undefined,
        },
      })
      const all = withCurrent(await listVariables(ctx.services.db, row.org_id, automationId))
      return all.find((v) => v.id === row.id) ?? row
    },
  }),
)

builder.mutationField('deleteVariable', (t) =>
  t.field({
    type: VariableType,
    authScopes: { user: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'variable' } },
    args: { name: t.arg.string(), automationId: t.arg.id({ required: false }) },
    resolve: async (_r, args, ctx) => {
      const automationId = await editableScope(ctx, args.automationId ? String(args.automationId) : null)
      const row = await deleteVariable(ctx.services.db, userOf(ctx).orgId, automationId, args.name)
      if (!row) throw new NotFoundError('variable')
      return row
    },
  }),
)

builder.queryField('evaluateExpression', (t) =>
  t.field({
    type: 'JSON',
    authScopes: { user: true },
    description:
      'Evaluates an expression against the organization’s (and an automation’s) variables, to try it out',
    errors: { types: COMMON_ERRORS, dataField: { name: 'value' } },
    args: { expression: t.arg.string(), automationId: t.arg.id({ required: false }) },
    resolve: async (_r, args, ctx) => {
      const automationId = args.automationId
        ? (await getVisibleAutomation(ctx, String(args.automationId))).id
        : null
      const values = scopeValues(
        await listVariables(ctx.services.db, userOf(ctx).orgId, automationId),
        {},
        new Date(),
      )
      try {
        const v = evaluateExpression(args.expression, {
          now: new Date(),
          lookup: (n) => {
            if (!(n in values)) throw new ExpressionError(`\${${n}} is not a variable`)
            const x = values[n]
            return x === null || ['string', 'number', 'boolean'].includes(typeof x)
              ? (x as string)
              : JSON.stringify(x)
          },
        })
        return v instanceof Date ? v.toISOString() : v
      } catch (err) {
        throw new ValidationError(`invalid expression: ${(err as Error).message}`, [
          { path: 'expression', message: (err as Error).message },
        ])
      }
    },
  }),
)
