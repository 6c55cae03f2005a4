import { z } from 'zod'
import { userOf } from '../accounts/graphql'
import { builder } from '../graphql/builder'
import { isRunId, parseInput } from '../validation'

interface AuditRow {
  id: string
  at: Date
  actor_user_id: string | null
  actor: string
  action: string
  target_type: string | null
  target_id: string | null
  outcome: string
  details: unknown
  address: string | null
  user_agent: string | null
}

const AuditEventType = builder.objectRef<AuditRow>('AuditEvent').implement({
  description: 'One change or manual run: who, when, what and from where',
  fields: (t) => ({
    id: t.exposeID('id'),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
    actorUserId: t.exposeID('actor_user_id', { nullable: true }),
    actor: t.exposeString('actor', { description: "The user's email (or the embed token) at the time" }),
    action: t.exposeString('action', { description: 'The mutation, e.g. updateAutomation' }),
    targetType: t.exposeString('target_type', { nullable: true }),
    targetId: t.exposeString('target_id', { nullable: true }),
    outcome: t.exposeString('outcome', { description: 'OK, or the error type it ended with' }),
    details: t.field({
      type: 'JSON',
      description: 'Its arguments; passwords and secret values masked',
      resolve: (e) => e.details,
    }),
    address: t.exposeString('address', { nullable: true }),
    userAgent: t.exposeString('user_agent', { nullable: true }),
  }),
})

const Filters = z.object({
  action: z.string().max(100).nullish(),
  actorUserId: z.uuid('must be a user id').nullish(),
  targetId: z.string().max(200).nullish(),
  since: z.date().nullish(),
  until: z.date().nullish(),
  first: z.number().int().min(1, 'at least 1').max(500, 'at most 500').nullish(),
  after: z
    .string()
    .refine((c) => isRunId(c), 'not a cursor from this connection')
    .nullish(),
})

builder.queryField('auditEvents', (t) =>
  t.connection({
    type: AuditEventType,
    authScopes: { admin: true },
    description: 'The organization audit log, newest first (admins only)',
    args: {
      action: t.arg.string({ required: false }),
      actorUserId: t.arg.id({ required: false }),
      targetId: t.arg.string({ required: false }),
      since: t.arg({ type: 'DateTime', required: false }),
      until: t.arg({ type: 'DateTime', required: false }),
    },
    resolve: async (_r, raw, ctx) => {
      const viewer = userOf(ctx)
      const f = parseInput(Filters, {
        ...raw,
        actorUserId: raw.actorUserId == null ? null : String(raw.actorUserId),
      })
      const limit = f.first ?? 50
      const rows = await ctx.services.db.query<AuditRow>(
        `select id, at, actor_user_id, actor, action, target_type, target_id, outcome, details, address, user_agent
         from audit_events
         where org_id = $1
           and ($2::text is null or action = $2)
           and ($3::uuid is null or actor_user_id = $3)
           and ($4::text is null or target_id = $4)
           and ($5::timestamptz is null or at >= $5)
           and ($6::timestamptz is null or at < $6)
           and ($7::int8 is null or id < $7)
         order by id desc limit $8`,
        [
          viewer.orgId,
          f.action ?? null,
          f.actorUserId ?? null,
          f.targetId ?? null,
          f.since ?? null,
          f.until ?? null,
          f.after ?? null,
          limit + 1,
        ],
      )
      const page = rows.slice(0, limit)
      return {
        edges: page.map((e) => ({ node: e, cursor: e.id })),
        pageInfo: {
          hasNextPage: rows.length > limit,
          hasPreviousPage: f.after != null,
          startCursor: page[0]?.id ?? null,
          endCursor: page.at(-1)?.id ?? null,
        },
      }
    },
  }),
)
