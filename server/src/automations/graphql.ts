import { UserType, userOf } from '../accounts/graphql'
import { getUser } from '../accounts/users'
import { atLeast } from '../auth/permissions'
import { builder } from '../graphql/builder'
import type { Context } from '../graphql/context'
import { RunAsForbiddenError } from '../errors'
import { COMMON_ERRORS } from '../graphql/errors'
import { kindConfigSchema } from '../kinds/json-schema'
import { listKinds } from '../kinds/registry'
import { type AutomationRow, AUTOMATION_COLUMNS, automationPermission } from './access'
import type { Definition, ParameterDecl } from './definition'
import { createAutomation, deleteAutomation, getVisibleAutomation, updateAutomation } from './service'
import type { VersionRow } from './versions'
import { folderAccess } from '../auth/context-access'

export const AutomationType = builder.objectRef<AutomationRow>('Automation')

const ParameterTypeEnum = builder.enumType('ParameterType', {
  values: ['STRING', 'NUMBER', 'BOOLEAN', 'DATE', 'JSON'] as const,
})
const MutexPolicyEnum = builder.enumType('MutexPolicy', {
  values: ['QUEUE', 'SKIP', 'REPLACE_QUEUED', 'CANCEL_RUNNING'] as const,
})

const ParameterDeclType = builder.objectRef<ParameterDecl>('ParameterDeclaration').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    type: t.field({ type: ParameterTypeEnum, resolve: (p) => p.type }),
    required: t.exposeBoolean('required'),
    default: t.field({ type: 'JSON', nullable: true, resolve: (p) => p.default ?? null }),
    description: t.exposeString('description'),
    allowedValues: t.field({
      type: ['JSON'],
      nullable: true,
      description:
        'The only values a run may pass (STRING and NUMBER parameters); null = any value of the type',
      resolve: (p) => p.allowedValues ?? null,
    }),
  }),
})

const MutexSettingsType = builder.objectRef<NonNullable<Definition['mutex']>>('MutexSettings').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    policy: t.field({ type: MutexPolicyEnum, resolve: (m) => m.policy }),
  }),
})

const RetryType = builder.objectRef<Definition['retry']>('RetryPolicy').implement({
  fields: (t) => ({ maxAttempts: t.exposeInt('maxAttempts'), backoffMs: t.exposeInt('backoffMs') }),
})

const KindType = builder.objectRef<{ kind: string; description: string }>('KindInfo').implement({
  fields: (t) => ({
    name: t.exposeString('kind'),
    description: t.exposeString('description'),
    configSchema: t.field({
      type: 'JSON',
      description: 'The config this kind takes, as JSON Schema (what a client may send: defaults optional)',
      resolve: (k) => kindConfigSchema(k.kind),
    }),
  }),
})

export const VersionType = builder.objectRef<VersionRow>('AutomationVersion').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    version: t.exposeInt('version'),
    createdAt: t.field({ type: 'DateTime', resolve: (v) => v.created_at }),
    definition: t.field({ type: 'JSON', resolve: (v) => v.definition }),
    createdBy: t.field({
      type: UserType,
      nullable: true,
      authScopes: { user: true },
      description: 'Who saved (or restored) this version; null once that user is deleted for good',
      resolve: (v, _args, ctx) =>
        v.created_by && ctx.viewer
          ? getUser(ctx.services.db, ctx.viewer.orgId, v.created_by).then((u) => u ?? null)
          : null,
    }),
  }),
})

// Versions never change: the engine's cache answers every field of every listed automation.
const definitionOf = (ctx: Context, a: AutomationRow) =>
  ctx.services.engine.definition(ctx.services.db, a.current_version_id!)

AutomationType.implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    kind: t.exposeString('kind'),
    version: t.exposeInt('version'),
    folderId: t.exposeID('folder_id', { nullable: true }),
    config: t.field({ type: 'JSON', resolve: async (a, _args, ctx) => (await definitionOf(ctx, a)).config }),
    parameters: t.field({
      type: [ParameterDeclType],
      resolve: async (a, _args, ctx) => (await definitionOf(ctx, a)).parameters,
    }),
    timeoutMs: t.int({
      nullable: true,
      resolve: async (a, _args, ctx) => (await definitionOf(ctx, a)).timeoutMs,
    }),
    retry: t.field({ type: RetryType, resolve: async (a, _args, ctx) => (await definitionOf(ctx, a)).retry }),
    mutex: t.field({
      type: MutexSettingsType,
      nullable: true,
      resolve: async (a, _args, ctx) => (await definitionOf(ctx, a)).mutex,
    }),
    allowAllUsersToRun: t.exposeBoolean('allow_all_users_to_run'),
    runAsUser: t.field({
      type: UserType,
      nullable: true,
      authScopes: { user: true },
      resolve: (a, _args, ctx) =>
        a.run_as_user_id ? getUser(ctx.services.db, a.org_id, a.run_as_user_id).then((u) => u ?? null) : null,
    }),
    createdBy: t.field({
      type: UserType,
      nullable: true,
      authScopes: { user: true },
      resolve: (a, _args, ctx) =>
        a.created_by ? getUser(ctx.services.db, a.org_id, a.created_by).then((u) => u ?? null) : null,
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (a) => a.created_at }),
    updatedAt: t.field({ type: 'DateTime', resolve: (a) => a.updated_at }),
    viewerCanEdit: t.boolean({
      resolve: async (a, _args, ctx) => atLeast(await automationPermission(ctx, a), 'EDIT'),
    }),
    viewerCanRun: t.boolean({
      resolve: async (a, _args, ctx) => atLeast(await automationPermission(ctx, a), 'RUN'),
    }),
    versions: t.field({
      type: [VersionType],
      authScopes: { user: true },
      resolve: (a, _args, ctx) =>
        ctx.services.db.query<VersionRow>(
          'select id, version, created_at, created_by, definition from automation_versions where automation_id = $1 order by version desc limit 100',
          [a.id],
        ),
    }),
  }),
})

const ParameterDeclInput = builder.inputType('ParameterDeclarationInput', {
  fields: (t) => ({
    name: t.string(),
    type: t.field({ type: ParameterTypeEnum }),
    required: t.boolean({ required: false }),
    default: t.field({ type: 'JSON', required: false }),
    description: t.string({ required: false }),
    allowedValues: t.field({
      type: ['JSON'],
      required: false,
      description: 'STRING and NUMBER only: the values a run may pass (the run form offers them in a select)',
    }),
  }),
})

const AutomationInput = builder.inputType('AutomationInput', {
  fields: (t) => ({
    name: t.string(),
    description: t.string({ required: false }),
    kind: t.string({ description: 'SCRIPT, HTTP_REQUEST, SQL, CHAIN, NOOP (see `kinds`)' }),
    folderId: t.id({ required: false }),
    config: t.field({ type: 'JSON', description: 'Kind-specific; validated against the kind schema' }),
    parameters: t.field({ type: [ParameterDeclInput], required: false }),
    timeoutMs: t.int({ required: false }),
    retry: t.field({
      type: builder.inputType('RetryPolicyInput', {
        fields: (r) => ({ maxAttempts: r.int(), backoffMs: r.int({ required: false }) }),
      }),
      required: false,
    }),
    mutex: t.field({
      type: builder.inputType('MutexInput', {
        fields: (m) => ({ name: m.string(), policy: m.field({ type: MutexPolicyEnum, required: false }) }),
      }),
      required: false,
    }),
    runAsUserId: t.id({ required: false }),
    allowAllUsersToRun: t.boolean({ required: false }),
  }),
})

/** GraphQL gives null for omitted optional fields; zod defaults want undefined. */
function clean(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(input)) {
    if (v === null || v === undefined) continue
    if (Array.isArray(v))
      out[k] = v.map((x) => (x && typeof x === 'object' ? clean(x as Record<string, unknown>) : x))
    else if (typeof v === 'object' && k !== 'config' && k !== 'default')
      out[k] = clean(v as Record<string, unknown>)
    else out[k] = v
  }
  return out
}

builder.queryField('kinds', (t) =>
  t.field({
    type: [KindType],
    authScopes: { user: true },
    resolve: () => listKinds().map((k) => ({ kind: k.kind, description: k.description })),
  }),
)

builder.queryField('automation', (t) =>
  t.field({
    type: AutomationType,
    nullable: true,
    authScopes: { authenticated: true },
    args: { id: t.arg.id() },
    resolve: (_root, { id }, ctx) => getVisibleAutomation(ctx, String(id)).catch(() => null),
  }),
)

builder.queryField('automations', (t) =>
  t.connection({
    type: AutomationType,
    authScopes: { user: true },
    args: {
      search: t.arg.string({ required: false }),
      folderId: t.arg.id({ required: false }),
      kind: t.arg.string({ required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const viewer = userOf(ctx)
      const access = await folderAccess(ctx)
      const limit = Math.min(args.first ?? 50, 200)
      const after = args.after ? Buffer.from(args.after, 'base64url').toString() : null
      const rows = await ctx.services.db.query<AutomationRow>(
        `select ${AUTOMATION_COLUMNS} from automations
         where org_id = $1 and deleted_at is null
           and ($2::text is null or name ilike '%' || $2 || '%')
           and ($3::uuid is null or folder_id = $3)
           and ($4::text is null or kind = $4)
           and ($5::text is null or name > $5)
           and ($6::uuid[] is null or folder_id is null or folder_id = any($6) or allow_all_users_to_run)
         order by name limit $7`,
        [
          viewer.orgId,
          args.search ?? null,
          args.folderId ? String(args.folderId) : null,
          args.kind ?? null,
          after,
          access.visibleFolderIds ? [...access.visibleFolderIds] : null,
          limit + 1,
        ],
      )
      const page = rows.slice(0, limit)
      return {
        edges: page.map((a) => ({ node: a, cursor: Buffer.from(a.name).toString('base64url') })),
        pageInfo: {
          hasNextPage: rows.length > limit,
          hasPreviousPage: after !== null,
          startCursor: page[0] ? Buffer.from(page[0].name).toString('base64url') : null,
          endCursor: page.at(-1) ? Buffer.from(page.at(-1)!.name).toString('base64url') : null,
        },
      }
    },
  }),
)

builder.mutationField('createAutomation', (t) =>
  t.field({
    type: AutomationType,
    authScopes: { editor: true },
    errors: { types: [...COMMON_ERRORS, RunAsForbiddenError], dataField: { name: 'automation' } },
    args: { input: t.arg({ type: AutomationInput }) },
    resolve: (_root, { input }, ctx) => createAutomation(ctx, clean(input as Record<string, unknown>)),
  }),
)

builder.mutationField('updateAutomation', (t) =>
  t.field({
    type: AutomationType,
    authScopes: { editor: true },
    errors: { types: [...COMMON_ERRORS, RunAsForbiddenError], dataField: { name: 'automation' } },
    args: { id: t.arg.id(), input: t.arg({ type: AutomationInput }) },
    resolve: (_root, { id, input }, ctx) =>
      updateAutomation(ctx, String(id), clean(input as Record<string, unknown>)),
  }),
)

builder.mutationField('deleteAutomation', (t) =>
  t.field({
    type: AutomationType,
    authScopes: { editor: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'automation' } },
    args: { id: t.arg.id() },
    resolve: (_root, { id }, ctx) => deleteAutomation(ctx, String(id)),
  }),
)
