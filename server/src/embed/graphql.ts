import { z } from 'zod'
import { userOf } from '../accounts/graphql'
import { announceAccessChanged } from '../auth/announce'
import { atLeast } from '../auth/permissions'
import { TokenPrefix, hashToken, newToken } from '../auth/tokens'
import { automationPermission } from '../automations/access'
import { getVisibleAutomation } from '../automations/service'
import { ForbiddenError, NotFoundError } from '../errors'
import { builder } from '../graphql/builder'
import { COMMON_ERRORS } from '../graphql/errors'
import { isUuid, parseInput } from '../validation'
import { EMBED_COLUMNS, type EmbedTokenRow } from './tokens'

const EmbedTokenType = builder.objectRef<EmbedTokenRow>('EmbedToken').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    automationIds: t.exposeIDList('automation_ids'),
    allowedOrigins: t.exposeStringList('allowed_origins'),
    expiresAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.expires_at }),
    revoked: t.boolean({ resolve: (r) => r.revoked_at !== null }),
    createdAt: t.field({ type: 'DateTime', resolve: (r) => r.created_at }),
  }),
})

const Input = z.object({
  name: z.string().trim().min(1, 'give the token a name').max(100),
  automationIds: z.array(z.string()).min(1, 'name at least one automation').max(50),
  allowedOrigins: z
    .array(
      z
        .string()
        .refine(
          (o) => o === '*' || /^https?:\/\/[^/\s]+$/.test(o),
          'must be an origin like https://bi.example.com (no path), or *',
        ),
    )
    .min(1, 'name at least one origin the button may be used from'),
  expiresAt: z
    .date()
    .refine((d) => d.getTime() > Date.now(), 'must be in the future')
    .nullish(),
})

const CreatePayload = builder
  .objectRef<{ token: string; embedToken: EmbedTokenRow }>('CreateEmbedTokenPayload')
  .implement({
    fields: (t) => ({
      token: t.exposeString('token', { description: 'The secret for the run button, shown this once' }),
      embedToken: t.field({ type: EmbedTokenType, resolve: (p) => p.embedToken }),
    }),
  })

builder.mutationField('createEmbedToken', (t) =>
  t.field({
    type: CreatePayload,
    authScopes: { editor: true },
    errors: { types: COMMON_ERRORS, directResult: true },
    args: {
      name: t.arg.string(),
      automationIds: t.arg.idList(),
      allowedOrigins: t.arg.stringList(),
      expiresAt: t.arg({ type: 'DateTime', required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const viewer = userOf(ctx)
      const input = parseInput(Input, { ...args, automationIds: args.automationIds.map(String) })
      for (const id of input.automationIds) {
        const a = await getVisibleAutomation(ctx, id)
        if (!a.allow_all_users_to_run) {
          throw new ForbiddenError(
            `automation "${a.name}" does not allow all users to run; turn that on to embed it`,
          )
        }
        if (!atLeast(await automationPermission(ctx, a), 'EDIT'))
          throw new ForbiddenError(`you may not edit "${a.name}"`)
      }
      const token = newToken(TokenPrefix.EMBED)
      const [row] = await ctx.services.db.query<EmbedTokenRow>(
        `insert into embed_tokens (org_id, name, token_hash, automation_ids, allowed_origins, created_by, expires_at)
         values ($1, $2, $3, $4::uuid[], $5::text[], $6, $7) returning ${EMBED_COLUMNS}`,
        [
          viewer.orgId,
          input.name,
          hashToken(token),
          input.automationIds,
          input.allowedOrigins,
          viewer.userId,
          input.expiresAt ?? null,
        ],
      )
      return { token, embedToken: row! }
    },
  }),
)

builder.queryField('embedTokens', (t) =>
  t.field({
    type: [EmbedTokenType],
    authScopes: { editor: true },
    resolve: (_root, _args, ctx) =>
      ctx.services.db.query<EmbedTokenRow>(
        `select ${EMBED_COLUMNS} from embed_tokens where org_id = $1 order by created_at desc`,
        [userOf(ctx).orgId],
      ),
  }),
)

builder.mutationField('revokeEmbedToken', (t) =>
  t.field({
    type: EmbedTokenType,
    authScopes: { editor: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'embedToken' } },
    args: { id: t.arg.id() },
    resolve: async (_root, { id }, ctx) => {
      if (!isUuid(String(id))) throw new NotFoundError('embed token')
      const orgId = userOf(ctx).orgId
      return ctx.services.db.transaction(async (tx) => {
        const [row] = await tx.query<EmbedTokenRow>(
          `update embed_tokens set revoked_at = coalesce(revoked_at, now()) where id = $1 and org_id = $2 returning ${EMBED_COLUMNS}`,
          [String(id), orgId],
        )
        if (!row) throw new NotFoundError('embed token')
        await announceAccessChanged(tx, { orgId })
        return row
      })
    },
  }),
)
