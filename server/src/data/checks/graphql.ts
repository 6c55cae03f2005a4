import { userOf } from '../../accounts/graphql'
import { builder } from '../../graphql/builder'
import { isUuid } from '../../validation'
import { CheckOutcome } from '../domain'
import { historyPage } from '../history-page'
import { visibleByAutomation } from '../visibility'
import { type CheckResultRow, checkHistory, latestChecks } from './store'

const CheckOutcomeEnum = builder.enumType('CheckOutcome', { values: Object.values(CheckOutcome) })

const CheckResultType = builder.objectRef<CheckResultRow>('CheckResult').implement({
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Pass as `before` to page on through the history' }),
    outcome: t.field({ type: CheckOutcomeEnum, resolve: (c) => c.outcome }),
    value: t.float({ nullable: true, resolve: (c) => c.value }),
    message: t.exposeString('message'),
    blocking: t.exposeBoolean('blocking'),
    checkedAt: t.field({ type: 'DateTime', resolve: (c) => c.checkedAt }),
    runId: t.exposeID('runId', { nullable: true }),
  }),
})

const CheckType = builder.objectRef<CheckResultRow>('Check').implement({
  description: 'A check of a RUN_CHECKS automation, with its latest result and its history',
  fields: (t) => ({
    automationId: t.exposeID('automationId'),
    name: t.exposeString('name'),
    outcome: t.field({ type: CheckOutcomeEnum, description: 'Latest outcome', resolve: (c) => c.outcome }),
    value: t.float({ nullable: true, resolve: (c) => c.value }),
    message: t.exposeString('message'),
    blocking: t.exposeBoolean('blocking'),
    checkedAt: t.field({ type: 'DateTime', resolve: (c) => c.checkedAt }),
    runId: t.exposeID('runId', { nullable: true }),
    history: t.field({
      type: [CheckResultType],
      description: 'Newest first; `before` (the id of the last result of a page) gives the next page',
      args: { first: t.arg.int({ required: false }), before: t.arg.id({ required: false }) },
      resolve: (c, args, ctx) =>
        checkHistory(
          ctx.services.db,
          { orgId: c.orgId, automationId: c.automationId, name: c.name },
          historyPage(args),
        ),
    }),
  }),
})

builder.queryField('checks', (t) =>
  t.field({
    type: [CheckType],
    authScopes: { user: true },
    description: 'Latest result of each check (of automations the viewer may see)',
    args: {
      automationId: t.arg.id({ required: false }),
      outcome: t.arg({ type: CheckOutcomeEnum, required: false }),
    },
    resolve: async (_r, args, ctx) => {
      const automationId = args.automationId ? String(args.automationId) : null
      if (automationId && !isUuid(automationId)) return []
      const rows = await latestChecks(ctx.services.db, userOf(ctx).orgId, {
        automationId,
        outcome: args.outcome ?? null,
      })
      return visibleByAutomation(ctx, rows, (r) => r.automationId)
    },
  }),
)
