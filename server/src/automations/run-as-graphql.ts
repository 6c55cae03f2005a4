import { UserType } from '../accounts/graphql'
import { getUser } from '../accounts/users'
import { builder } from '../graphql/builder'
import { RunType } from '../runs/graphql'
import { runAsFallbackFrom } from './run-as-fallback'

builder.objectField(RunType, 'runAsFallback', (t) =>
  t.boolean({
    description:
      "True when the automation's run-as user had been deleted and the run used the organization's first admin instead",
    resolve: async (r, _a, ctx) => (await runAsFallbackFrom(ctx.services.db, r)) !== null,
  }),
)

builder.objectField(RunType, 'runAsFallbackFrom', (t) =>
  t.field({
    type: UserType,
    nullable: true,
    authScopes: { user: true },
    description: 'The deleted run-as user this run stood in for (see runAsFallback)',
    resolve: async (r, _a, ctx) => {
      const id = await runAsFallbackFrom(ctx.services.db, r)
      return id ? ((await getUser(ctx.services.db, r.org_id, id)) ?? null) : null
    },
  }),
)
