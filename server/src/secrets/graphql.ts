import { z } from 'zod'
import { UserType, userOf } from '../accounts/graphql'
import { getUser } from '../accounts/users'
import { NotFoundError } from '../errors'
import { isUuid, parseInput } from '../validation'
import { builder } from '../graphql/builder'
import { COMMON_ERRORS } from '../graphql/errors'
import { assertMayManageSecrets, managesSecrets, setSecretManager } from './managers'
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
    authScopes: { editor: true },
    description:
      'Creates a secret, or rotates its value when the name exists (admins, and editors granted manageSecrets)',
    errors: { types: COMMON_ERRORS, dataField: { name: 'secret' } },
    args: { name: t.arg.string(), value: t.arg.string(), description: t.arg.string({ required: false }) },
    resolve: async (_r, args, ctx) => {
      const viewer = userOf(ctx)
      await assertMayManageSecrets(ctx.services.db, viewer)
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
    authScopes: { editor: true },
    description: 'Deletes a secret (admins, and editors granted manageSecrets)',
    errors: { types: COMMON_ERRORS, dataField: { name: 'secret' } },
    args: { name: t.arg.string() },
    resolve: async (_r, { name }, ctx) => {
      const viewer = userOf(ctx)
      await assertMayManageSecrets(ctx.services.db, viewer)
      const row = await deleteSecret(ctx.services.db, viewer.orgId, name)
      if (!row) throw new NotFoundError('secret')
      return row
    },
  }),
)

builder.objectField(UserType, 'manageSecrets', (t) =>
  t.boolean({
    description: 'May create, rotate and delete secrets: every admin, and editors an admin granted it',
    resolve: (u, _a, ctx) => managesSecrets(ctx.services.db, u.org_id, u.id),
  }),
)

builder.mutationField('setSecretManager', (t) =>
  t.field({
    type: UserType,
    authScopes: { admin: true },
    description:
      'Grants (allowed: true) or withdraws an EDITOR the right to create, rotate and delete secrets; viewers never get it',
    errors: { types: COMMON_ERRORS, dataField: { name: 'user' } },
    args: { userId: t.arg.id(), allowed: t.arg.boolean() },
    resolve: async (_r, { userId, allowed }, ctx) => {
      const viewer = userOf(ctx)
      if (!isUuid(String(userId))) throw new NotFoundError('user')
      const id = await setSecretManager(ctx.services.db, viewer, String(userId), allowed)
      const user = await getUser(ctx.services.db, viewer.orgId, id)
      if (!user) throw new NotFoundError('user')
      return user
    },
  }),
)
