import { SESSION_COOKIE } from '../auth/authenticate'
import { TooManyAttemptsError } from '../auth/throttle'
import { folderAccess } from '../auth/context-access'
import type { UserViewer } from '../auth/viewer'
import { Role } from '../domain'
import { ForbiddenError, NotFoundError, ValidationError } from '../errors'
import { builder } from '../graphql/builder'
import type { Context } from '../graphql/context'
import { COMMON_ERRORS, ErrorInterface } from '../graphql/errors'
import { isUuid } from '../validation'
import { type ApiTokenRow, createApiToken, listApiTokens, revokeApiToken } from './api-tokens'
import {
  type FolderRow,
  type GrantRow,
  createFolder,
  deleteFolder,
  grantFolder,
  listFolders,
  listGrants,
  revokeGrant,
} from './folders'
import { login, logout } from './sessions'
import { type UserRow, createUser, deleteUser, getUser, listUsers, setUserRole } from './users'

export const RoleEnum = builder.enumType('Role', { values: Object.values(Role) })
export const PermissionEnum = builder.enumType('Permission', { values: ['VIEW', 'RUN', 'EDIT'] as const })

export const UserType = builder.objectRef<UserRow>('User').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    email: t.exposeString('email'),
    name: t.exposeString('name'),
    role: t.field({ type: RoleEnum, resolve: (u) => u.role }),
    createdAt: t.field({ type: 'DateTime', resolve: (u) => u.created_at }),
    deleted: t.boolean({ resolve: (u) => u.deleted_at !== null }),
  }),
})

const ApiTokenType = builder.objectRef<ApiTokenRow>('ApiToken').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    prefix: t.exposeString('prefix', {
      description: 'The first characters of the secret, to tell tokens apart',
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (r) => r.created_at }),
    expiresAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.expires_at }),
    lastUsedAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.last_used_at }),
    revoked: t.boolean({ resolve: (r) => r.revoked_at !== null }),
  }),
})

const GrantType = builder.objectRef<GrantRow>('FolderGrant').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    folderId: t.exposeID('folder_id'),
    userId: t.exposeID('user_id', { nullable: true }),
    role: t.field({ type: RoleEnum, nullable: true, resolve: (g) => g.role }),
    permission: t.field({ type: PermissionEnum, resolve: (g) => g.permission }),
  }),
})

export const FolderType = builder.objectRef<FolderRow>('Folder').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    grants: t.field({
      type: [GrantType],
      authScopes: { admin: true },
      resolve: (f, _args, ctx) => listGrants(ctx.services.db, f.org_id, f.id),
    }),
  }),
})

/** The signed-in user; the scope check guarantees it is a user, not an embed token. */
export function userOf(ctx: { viewer: unknown }): UserViewer {
  const v = ctx.viewer as UserViewer | undefined
  if (v?.type !== 'user') throw new ForbiddenError('sign in as a user to do this')
  return v
}

export const LoginPayload = builder
  .objectRef<{ token: string; user: UserRow; expiresAt: Date }>('LoginPayload')
  .implement({
    fields: (t) => ({
      token: t.exposeString('token', { description: 'Usable as `Authorization: Bearer <token>`' }),
      expiresAt: t.field({ type: 'DateTime', resolve: (p) => p.expiresAt }),
      user: t.field({ type: UserType, resolve: (p) => p.user }),
    }),
  })

/** The httpOnly session cookie for a session just opened (login, accepted invitation). */
export function setSessionCookie(ctx: Context, session: { token: string; expiresAt: Date }): void {
  const secure = ctx.services.config.publicUrl.startsWith('https:') ? '; Secure' : ''
  const maxAge = Math.floor((session.expiresAt.getTime() - Date.now()) / 1000)
  ctx.responseCookies.push(
    `${SESSION_COOKIE}=${session.token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure}`,
  )
}

class InvalidCredentialsError extends Error {
  override name = 'InvalidCredentialsError'
}
builder.objectType(InvalidCredentialsError, {
  name: 'InvalidCredentialsError',
  interfaces: [ErrorInterface],
})

builder.objectType(TooManyAttemptsError, {
  name: 'TooManyAttemptsError',
  description: 'Too many failed sign-ins for this account or from this address; wait and retry',
  interfaces: [ErrorInterface],
  fields: (t) => ({ retryAfterSeconds: t.exposeInt('retryAfterSeconds') }),
})

builder.mutationField('login', (t) =>
  t.field({
    type: LoginPayload,
    errors: { types: [InvalidCredentialsError, TooManyAttemptsError], directResult: true },
    args: { email: t.arg.string(), password: t.arg.string() },
    resolve: async (_root, { email, password }, ctx) => {
      const keys = { email, address: ctx.clientAddress }
      await ctx.services.loginThrottle.check(keys)
      const result =
        email.length > 254 || password.length > 200 ? null : await login(ctx.services.db, email, password)
      if (!result) {
        await ctx.services.loginThrottle.failed(keys)
        throw new InvalidCredentialsError('wrong email or password')
      }
      await ctx.services.loginThrottle.succeeded(email)
      setSessionCookie(ctx, result)
      return result
    },
  }),
)

builder.mutationField('logout', (t) =>
  t.boolean({
    authScopes: { user: true },
    resolve: async (_root, _args, ctx) => {
      const v = userOf(ctx)
      if (v.sessionHash) await logout(ctx.services.db, v, v.sessionHash)
      ctx.responseCookies.push(`${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`)
      return true
    },
  }),
)

builder.queryField('me', (t) =>
  t.field({
    type: UserType,
    nullable: true,
    description: 'The signed-in user, or null when not signed in',
    resolve: async (_root, _args, ctx) => {
      const v = ctx.viewer
      if (v?.type !== 'user') return null
      return (await getUser(ctx.services.db, v.orgId, v.userId)) ?? null
    },
  }),
)

const CreateApiTokenPayload = builder
  .objectRef<{ token: string; apiToken: ApiTokenRow }>('CreateApiTokenPayload')
  .implement({
    fields: (t) => ({
      token: t.exposeString('token', { description: 'The secret, shown this once' }),
      apiToken: t.field({ type: ApiTokenType, resolve: (p) => p.apiToken }),
    }),
  })

builder.mutationField('createApiToken', (t) =>
  t.field({
    type: CreateApiTokenPayload,
    authScopes: { user: true },
    errors: { types: [ValidationError, ForbiddenError], directResult: true },
    args: { name: t.arg.string(), expiresAt: t.arg({ type: 'DateTime', required: false }) },
    resolve: (_root, args, ctx) => createApiToken(ctx.services.db, userOf(ctx), args),
  }),
)

builder.queryField('apiTokens', (t) =>
  t.field({
    type: [ApiTokenType],
    authScopes: { user: true },
    resolve: (_root, _args, ctx) => listApiTokens(ctx.services.db, userOf(ctx)),
  }),
)

builder.mutationField('revokeApiToken', (t) =>
  t.field({
    type: ApiTokenType,
    authScopes: { user: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'apiToken' } },
    args: { id: t.arg.id() },
    resolve: (_root, { id }, ctx) => {
      if (!isUuid(String(id))) throw new NotFoundError('API token')
      return revokeApiToken(ctx.services.db, userOf(ctx), String(id))
    },
  }),
)

builder.queryField('users', (t) =>
  t.field({
    type: [UserType],
    authScopes: { user: true },
    resolve: (_root, _args, ctx) => listUsers(ctx.services.db, userOf(ctx).orgId),
  }),
)

const CreateUserPayload = builder
  .objectRef<{ user: UserRow; initialPassword: string | null }>('CreateUserPayload')
  .implement({
    fields: (t) => ({
      user: t.field({ type: UserType, resolve: (p) => p.user }),
      initialPassword: t.exposeString('initialPassword', {
        nullable: true,
        description: 'Generated when no password was given; shown this once for the admin to hand over',
      }),
    }),
  })

builder.mutationField('createUser', (t) =>
  t.field({
    type: CreateUserPayload,
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, directResult: true },
    args: {
      email: t.arg.string(),
      name: t.arg.string(),
      role: t.arg({ type: RoleEnum }),
      password: t.arg.string({ required: false }),
    },
    resolve: (_root, args, ctx) => createUser(ctx.services.db, userOf(ctx), args),
  }),
)

builder.mutationField('setUserRole', (t) =>
  t.field({
    type: UserType,
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'user' } },
    args: { id: t.arg.id(), role: t.arg({ type: RoleEnum }) },
    resolve: (_root, { id, role }, ctx) => {
      if (!isUuid(String(id))) throw new NotFoundError('user')
      return setUserRole(ctx.services.db, userOf(ctx), String(id), role)
    },
  }),
)

builder.mutationField('deleteUser', (t) =>
  t.field({
    type: UserType,
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'user' } },
    args: { id: t.arg.id() },
    resolve: (_root, { id }, ctx) => {
      if (!isUuid(String(id))) throw new NotFoundError('user')
      return deleteUser(ctx.services.db, userOf(ctx), String(id))
    },
  }),
)

builder.queryField('folders', (t) =>
  t.field({
    type: [FolderType],
    authScopes: { user: true },
    resolve: async (_root, _args, ctx) => {
      const viewer = userOf(ctx)
      const access = await folderAccess(ctx)
      return (await listFolders(ctx.services.db, viewer.orgId)).filter(
        (f) => access.permissionFor(f.id) !== null,
      )
    },
  }),
)

builder.mutationField('createFolder', (t) =>
  t.field({
    type: FolderType,
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'folder' } },
    args: { name: t.arg.string() },
    resolve: (_root, { name }, ctx) => createFolder(ctx.services.db, userOf(ctx), name),
  }),
)

builder.mutationField('deleteFolder', (t) =>
  t.field({
    type: FolderType,
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'folder' } },
    args: { id: t.arg.id() },
    resolve: (_root, { id }, ctx) => {
      if (!isUuid(String(id))) throw new NotFoundError('folder')
      return deleteFolder(ctx.services.db, userOf(ctx), String(id))
    },
  }),
)

builder.mutationField('grantFolder', (t) =>
  t.field({
    type: GrantType,
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'grant' } },
    args: {
      folderId: t.arg.id(),
      userId: t.arg.id({ required: false }),
      role: t.arg({ type: RoleEnum, required: false }),
      permission: t.arg({ type: PermissionEnum }),
    },
    resolve: (_root, args, ctx) =>
      grantFolder(ctx.services.db, userOf(ctx), {
        folderId: String(args.folderId),
        userId: args.userId == null ? null : String(args.userId),
        role: args.role ?? null,
        permission: args.permission,
      }),
  }),
)

builder.mutationField('revokeFolderGrant', (t) =>
  t.field({
    type: GrantType,
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'grant' } },
    args: { id: t.arg.id() },
    resolve: (_root, { id }, ctx) => {
      if (!isUuid(String(id))) throw new NotFoundError('grant')
      return revokeGrant(ctx.services.db, userOf(ctx), String(id))
    },
  }),
)
