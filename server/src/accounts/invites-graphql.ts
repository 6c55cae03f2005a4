import { builder } from '../graphql/builder'
import { COMMON_ERRORS, ErrorInterface } from '../graphql/errors'
import { LoginPayload, RoleEnum, UserType, setSessionCookie, userOf } from './graphql'
import { type Invitation, InvalidInviteError, acceptInvite, inviteUser } from './invites'

const InviteUserPayload = builder.objectRef<Invitation & { url: string }>('InviteUserPayload').implement({
  fields: (t) => ({
    user: t.field({ type: UserType, resolve: (p) => p.user }),
    inviteUrl: t.exposeString('url', {
      description: 'Open once to choose a password; shown this once for the admin to hand over',
    }),
    expiresAt: t.field({ type: 'DateTime', resolve: (p) => p.expiresAt }),
  }),
})

builder.mutationField('inviteUser', (t) =>
  t.field({
    type: InviteUserPayload,
    description: 'Adds a user who signs in after choosing a password through a one-time link (7 days)',
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { email: t.arg.string(), name: t.arg.string(), role: t.arg({ type: RoleEnum }) },
    resolve: async (_root, args, ctx) => {
      const invitation = await inviteUser(ctx.services.db, userOf(ctx), args)
      return { ...invitation, url: `${ctx.services.config.publicUrl}/invite/${invitation.token}` }
    },
  }),
)

builder.objectType(InvalidInviteError, { name: 'InvalidInviteError', interfaces: [ErrorInterface] })

builder.mutationField('acceptInvite', (t) =>
  t.field({
    type: LoginPayload,
    description: 'Chooses the password of an invited user and signs them in; the link works once',
    errors: { types: [InvalidInviteError, ...COMMON_ERRORS], directResult: true },
    args: { token: t.arg.string(), password: t.arg.string() },
    resolve: async (_root, { token, password }, ctx) => {
      const session = await acceptInvite(ctx.services.db, token, password)
      setSessionCookie(ctx, session)
      return session
    },
  }),
)
