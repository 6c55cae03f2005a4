import { RunAsForbiddenError } from '../errors'
import { builder } from '../graphql/builder'
import { COMMON_ERRORS } from '../graphql/errors'
import { AutomationType, VersionType } from './graphql'
import { type CodeWarning, warningsFor } from './typecheck'
import { listVersions, restoreVersion } from './versions'

builder.queryField('automationVersions', (t) =>
  t.field({
    type: [VersionType],
    authScopes: { user: true },
    description: 'Every saved version of an automation, newest first (who saved it, when, its definition)',
    args: { automationId: t.arg.id(), first: t.arg.int({ required: false }) },
    resolve: (_root, args, ctx) => listVersions(ctx, String(args.automationId), args.first ?? 200),
  }),
)

builder.mutationField('restoreAutomationVersion', (t) =>
  t.field({
    type: AutomationType,
    authScopes: { editor: true },
    description:
      'Saves a new version equal to an old one (config, parameters and execution settings), under the rules of any save',
    errors: { types: [...COMMON_ERRORS, RunAsForbiddenError], dataField: { name: 'automation' } },
    args: { automationId: t.arg.id(), version: t.arg.int() },
    resolve: (_root, args, ctx) => restoreVersion(ctx, String(args.automationId), args.version),
  }),
)

const CodeWarningType = builder.objectRef<CodeWarning>('CodeWarning').implement({
  description: 'A TypeScript type error in a script: the script saved, but may fail when it runs',
  fields: (t) => ({ line: t.exposeInt('line'), message: t.exposeString('message') }),
})

builder.objectField(AutomationType, 'codeWarnings', (t) =>
  t.field({
    type: [CodeWarningType],
    authScopes: { user: true },
    description:
      "Type errors of the current version's TypeScript code, with their line (checked when asked: select it after a save)",
    resolve: async (a, _args, ctx) =>
      warningsFor(await ctx.services.engine.definition(ctx.services.db, a.current_version_id!)),
  }),
)
