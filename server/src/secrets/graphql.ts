import { z } from 'zod'
import { UserType, userOf } from '../accounts/graphql'
import { getUser } from '../accounts/users'
import { NotFoundError } from '../errors'
import { builder } from '../graphql/builder'
import { COMMON_ERRORS } from '../graphql/errors'
import { parseInput } from '../validation'
import { SECRET_NAME } from './references'
import { type SecretRow, deleteSecret, listSecrets, putSecret } from './store'

interface UsageRow {
  automation_id: string
  automation_name: string | null
  last_run_id: string | null
  uses: number
  last_used_at: Date
}

const SecretUsageType = builder.objectRef<UsageRow>('SecretUsage').implement({
  description: 'An automation that used a secret: how often, and its latest run',
  fields: (t) => ({
    automationId: t.exposeID('automation_id'),
    automationName: t.exposeString('automation_name', { nullable: true }),
    lastRunId: t.exposeID('last_run_id', { nullable: true }),
    uses: t.exposeInt('uses'),
    lastUsedAt: t.field({ type: 'DateTime', resolve: (u) => u.last_used_at }),
  }),
})

const SecretType = builder.objectRef<SecretRow>('Secret').implement({
  description: 'An organization secret; its value is never returned, only where it is used',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name', { description: 'Referenced as $' + '{secret.NAME}' }),
    description: t.exposeString('description'),
    createdAt: t.field({ type: 'DateTime', resolve: (s) => s.created_at }),
    updatedAt: t.field({ type: 'DateTime', resolve: (s) => s.updated_at }),
    updatedBy: t.field({
      type: UserType,
      nullable: true,
      resolve: (s, _a, ctx) =>
        s.updated_by ? getUser(ctx.services.db, s.org_id, s.updated_by).then((u) => u ?? null) : null,
    }),
    usages: t.field({
      type: [SecretUsageType],
      authScopes: { admin: true },
      resolve: (s, _a, ctx) =>
        ctx.services.db.query<UsageRow>(
          `select u.automation_id, a.name as automation_name, u.last_run_id, u.uses, u.last_used_at
           from secret_usages u left join automations a on a.id = u.automation_id
           where u.secret_id = $1 order by u.last_used_at desc`,
          [s.id],
        ),
    }),
  }),
})

builder.queryField('secrets', (t) =>
  t.field({
    type: [SecretType],
    authScopes: { editor: true },
    description:
      'Names and metadata of the organization secrets (editors reference them; values never leave)',
    resolve: (_r, _a, ctx) => listSecrets(ctx.services.db, userOf(ctx).orgId),
  }),
)

const PutInput = z.object({
  name: z.string().regex(SECRET_NAME, 'must start with a letter or _ and hold only letters, digits and _'),
  value: z.string().min(1, 'must not be empty').max(65_536, 'at most 64 KiB'),
  description: z.string().max(500).default(''),
})

builder.mutationField('setSecret', (t) =>
  t.field({
    type: SecretType,
    authScopes: { admin: true },
    description: 'Creates a secret, or rotates its value when the name exists',
    errors: { types: COMMON_ERRORS, dataField: { name: 'secret' } },
    args: { name: t.arg.string(), value: t.arg.string(), description: t.arg.string({ required: false }) },
    resolve: async (_r, args, ctx) => {
      const viewer = userOf(ctx)
      const input = parseInput(PutInput, { ...args, description: args.description ?? undefined })
      const { row } = await putSecret(ctx.services.db, ctx.services.data.secretsKey, {
        ...input,
        orgId: viewer.orgId,
        by: viewer.userId,
      })
      return row
    },
  }),
)

builder.mutationField('deleteSecret', (t) =>
  t.field({
    type: SecretType,
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'secret' } },
    args: { name: t.arg.string() },
    resolve: async (_r, { name }, ctx) => {
      const row = await deleteSecret(ctx.services.db, userOf(ctx).orgId, name)
      if (!row) throw new NotFoundError('secret')
      return row
    },
  }),
)
