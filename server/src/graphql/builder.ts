import SchemaBuilder from '@pothos/core'
import ErrorsPlugin from '@pothos/plugin-errors'
import RelayPlugin from '@pothos/plugin-relay'
import ScopeAuthPlugin from '@pothos/plugin-scope-auth'
import { JSONResolver, DateTimeResolver } from './scalars'
import { ROLE_RANK, type Role } from '../domain'
import { ForbiddenError } from '../errors'
import type { Context } from './context'

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)

function hasRole(ctx: Context, role: Role): boolean {
  const v = ctx.viewer
  return v?.type === 'user' && ROLE_RANK[v.role] >= ROLE_RANK[role]
}

export const builder = new SchemaBuilder<{
  Context: Context
  Scalars: {
    JSON: { Input: unknown; Output: unknown }
    DateTime: { Input: Date; Output: Date }
  }
  AuthScopes: {
    /** A signed-in user (session or API token), not an embed token. */
    user: boolean
    /** A user or an embed token. */
    authenticated: boolean
    editor: boolean
    admin: boolean
  }
  DefaultFieldNullability: false
  DefaultInputFieldRequiredness: true
}>({
  // Errors first: its wrapper is outermost, so a refused scope becomes a typed ForbiddenError.
  plugins: [ErrorsPlugin, ScopeAuthPlugin, RelayPlugin],
  defaultFieldNullability: false,
  defaultInputFieldRequiredness: true,
  scopeAuth: {
    authorizeOnSubscribe: true,
    unauthorizedError: () =>
      new ForbiddenError('you are not allowed to do this; sign in with a role that may'),
    authScopes: (ctx) => ({
      user: ctx.viewer?.type === 'user',
      authenticated: ctx.viewer !== undefined,
      editor: hasRole(ctx, 'EDITOR'),
      admin: hasRole(ctx, 'ADMIN'),
    }),
  },
  relay: { clientMutationId: 'omit', cursorType: 'String' },
  errors: {
    defaultTypes: [],
    defaultResultOptions: { name: ({ fieldName }) => `${cap(fieldName)}Success` },
    defaultUnionOptions: { name: ({ fieldName }) => `${cap(fieldName)}Result` },
  },
})

builder.addScalarType('JSON', JSONResolver)
builder.addScalarType('DateTime', DateTimeResolver)
builder.queryType({})
builder.mutationType({})
builder.subscriptionType({})
