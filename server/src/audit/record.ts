import { type GraphQLObjectType, type GraphQLSchema, defaultFieldResolver } from 'graphql'
import { coerceError } from '../errors'
import type { Context } from '../graphql/context'

/** Mutations that change nothing anyone else sees: not audited. */
const NOT_AUDITED = new Set(['login', 'logout'])

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
 */
export function auditMutations(schema: GraphQLSchema): GraphQLSchema {
  const mutation = schema.getMutationType() as GraphQLObjectType | null | undefined
  for (const field of Object.values(mutation?.getFields() ?? {})) {
    if (NOT_AUDITED.has(field.name)) continue
    const resolve = field.resolve ?? defaultFieldResolver
    field.resolve = async (source, args: Record<string, unknown>, ctx: Context, info) => {
      let outcome = 'ERROR'
      let result: unknown
      try {
        result = await resolve(source, args, ctx, info)
        outcome = typedErrorName(result) ?? 'OK'
        return result
      } finally {
        await recordAudit(ctx, { action: field.name, args, result, outcome })
      }
    }
  }
  return schema
}

async function recordAudit(
  ctx: Context,
  e: { action: string; args: Record<string, unknown>; result: unknown; outcome: string },
): Promise<void> {
  const v = ctx.viewer
  if (!v) return
  try {
    await ctx.services.db.query(
      `insert into audit_events (org_id, actor_user_id, actor, action, target_type, target_id, outcome, details, address, user_agent)
       values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10)`,
      [
        v.orgId,
        v.type === 'user' ? v.userId : null,
        v.type === 'user' ? v.email : `embed token ${v.tokenId}`,
        e.action,
        targetTypeOf(e.action),
        targetIdOf(e.args, e.result),
        e.outcome,
        JSON.stringify(detailsOf(e.action, e.args)),
        ctx.clientAddress ?? null,
        ctx.userAgent ?? null,
      ],
    )
  } catch (err) {
    ctx.services.log.error({ err: coerceError(err), action: e.action }, 'could not write the audit event')
  }
}
