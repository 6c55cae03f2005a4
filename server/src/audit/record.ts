import { type GraphQLObjectType, type GraphQLSchema, defaultFieldResolver } from 'graphql'
import { coerceError } from '../errors'
import type { Context } from '../graphql/context'
import { type AuditEntry, PENDING, insertAuditEvent, settleAuditEvent } from './store'

/** Argument names whose values never reach the audit log. */
const SENSITIVE = new Set(['password', 'newPassword', 'token', 'value'])
/** Where `value` is harmless (a variable's value is shown to editors anyway). */
const VALUE_SHOWN = new Set(['setVariable'])

const MAX_DETAILS = 8000

/** `createAutomation` → `Automation`: what kind of object an action is about. */
export function targetTypeOf(action: string): string | null {
  const m =
    /^(?:create|update|delete|set|revoke|grant|rotate|run|cancel|retry|invite|accept|upload|refresh|reassign)([A-Z]\w*)$/.exec(
      action,
    )
  return m ? m[1]! : null
}

function targetIdOf(args: Record<string, unknown>, result: unknown): string | null {
  for (const k of ['id', 'automationId', 'triggerId', 'folderId', 'userId', 'name']) {
    if (typeof args[k] === 'string') return args[k] as string
  }
  if (result && typeof result === 'object' && !typedErrorName(result)) {
    const r = result as Record<string, unknown>
    if (typeof r.id === 'string') return r.id
    for (const v of Object.values(r)) {
      if (v && typeof v === 'object' && typeof (v as { id?: unknown }).id === 'string')
        return (v as { id: string }).id
    }
  }
  return null
}

/**
 * The typed error a mutation resolved to. The errors plugin hands them on as
 * proxies that fail `instanceof Error`, so they are told by shape.
 */
function typedErrorName(result: unknown): string | undefined {
  if (!result || typeof result !== 'object' || !('message' in result) || !('name' in result)) return undefined
  const name = (result as { name: unknown }).name
  return typeof name === 'string' && name.endsWith('Error') ? name : undefined
}

function detailsOf(action: string, args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(args)) {
    out[k] = SENSITIVE.has(k) && !(k === 'value' && VALUE_SHOWN.has(action)) ? '***' : v
  }
  const text = JSON.stringify(out)
  return text.length > MAX_DETAILS ? { truncated: text.slice(0, MAX_DETAILS) } : out
}

/**
 * Records every mutation (every change and every manual run) in audit_events:
 * who (user or embed token), when, what (the operation, its arguments with
 * passwords and secret values masked, its target and outcome) and from where
 * (client address and User-Agent). Wraps the schema's mutation fields once,
 * so a mutation added later is audited without anyone remembering to.
 *
 * The record is written ahead of the operation, not inside its transaction,
 * because a mutation is not one transaction: runAutomation commits through the
 * engine's own transaction (mutex lock, NOTIFY to the workers), datasource and
 * warehouse mutations reach other databases and servers, and most resolvers
 * write with several statements on the pool. One transaction around a resolver
 * would hold a pool connection and its row locks for as long as the slowest
 * outside call, and on the embedded database (PGlite, a single connection)
 * stall every other query until it ended. So, like a write-ahead log: the
 * record is committed as PENDING before the resolver runs (if it cannot be
 * written, the mutation does not run at all), then settled with the outcome.
 * A committed change therefore always has its record; a refused or failed one
 * has a record whose outcome names its error (an attempt, not a change); a
 * node killed in between leaves PENDING. Sign-ins are recorded after the fact
 * (the account is known only then); see recordSignIn.
 */
export function auditMutations(schema: GraphQLSchema): GraphQLSchema {
  const mutation = schema.getMutationType() as GraphQLObjectType | null | undefined
  for (const field of Object.values(mutation?.getFields() ?? {})) {
    const resolve = field.resolve ?? defaultFieldResolver
    const action = field.name
    if (SIGN_IN.has(action)) {
      field.resolve = async (source, args: Record<string, unknown>, ctx: Context, info) => {
        const result = await resolve(source, args, ctx, info)
        await recordSignIn(ctx, {
          action,
          email: args.email,
          result,
          outcome: typedErrorName(result) ?? 'OK',
        })
        return result
      }
      continue
    }
    field.resolve = async (source, args: Record<string, unknown>, ctx: Context, info) => {
      const v = ctx.viewer
      // Signed out, only sign-ins get past the scopes; anything else is refused before it acts.
      if (!v) return resolve(source, args, ctx, info)
      const id = await insertAuditEvent(ctx.services.db, {
        ...who(ctx),
        orgId: v.orgId,
        action,
        targetType: targetTypeOf(action),
        targetId: targetIdOf(args, undefined),
        outcome: PENDING,
        details: detailsOf(action, args),
      })
      let outcome = 'ERROR'
      let result: unknown
      try {
        result = await resolve(source, args, ctx, info)
        outcome = typedErrorName(result) ?? 'OK'
        return result
      } finally {
        await settleAuditEvent(ctx.services.db, id, { outcome, targetId: targetIdOf(args, result) }).catch(
          (err) =>
            // The record exists (PENDING); only its outcome is missing.
            ctx.services.log.error({ err: coerceError(err), action, id }, 'could not settle the audit event'),
        )
      }
    }
  }
  return schema
}

/** The actor and where the request came from. */
function who(ctx: Context): Pick<AuditEntry, 'actorUserId' | 'actor' | 'address' | 'userAgent'> {
  const v = ctx.viewer
  return {
    actorUserId: v?.type === 'user' ? v.userId : null,
    actor: v?.type === 'user' ? v.email : v ? `embed token ${v.tokenId}` : 'anonymous',
    address: ctx.clientAddress ?? null,
    userAgent: ctx.userAgent ?? null,
  }
}

/** Signing in (by password, or by accepting an invitation): recorded with the account it names. */
const SIGN_IN = new Set(['login', 'acceptInvite'])

/**
 * Records a sign-in, successful or not, in the organization of the account it
 * names, with the client's address. A failure for an email no account has
 * belongs to no organization: it goes to the server log instead. A successful
 * sign-in whose record cannot be written fails (its session token never leaves
 * the server), so nobody signs in unrecorded.
 */
async function recordSignIn(
  ctx: Context,
  e: { action: string; email: unknown; result: unknown; outcome: string },
): Promise<void> {
  const user =
    e.outcome === 'OK'
      ? (e.result as { user: { id: string; org_id: string; email: string } }).user
      : typeof e.email === 'string' && e.email.length <= 254
        ? (
            await ctx.services.db.query<{ id: string; org_id: string; email: string }>(
              'select id, org_id, email from users where lower(email) = lower($1) and deleted_at is null',
              [e.email],
            )
          )[0]
        : undefined
  if (!user) {
    ctx.services.log.info(
      { action: e.action, outcome: e.outcome, address: ctx.clientAddress },
      'sign-in failed for no known account',
    )
    return
  }
  await insertAuditEvent(ctx.services.db, {
    ...who(ctx),
    orgId: user.org_id,
    actorUserId: user.id,
    actor: typeof e.email === 'string' ? e.email : user.email,
    action: e.action,
    targetType: 'User',
    targetId: user.id,
    outcome: e.outcome,
    details: typeof e.email === 'string' ? { email: e.email } : {},
  })
}
