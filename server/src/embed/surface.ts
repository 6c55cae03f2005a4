import { type GraphQLObjectType, type GraphQLSchema, defaultFieldResolver } from 'graphql'
import { ForbiddenError } from '../errors'
import type { Context } from '../graphql/context'

/**
 * What a run button may read, and nothing else: the automation's name and
 * parameters, and its own runs' state and outputs. Every other field of every
 * other type is refused to embed tokens, so a field added later is closed to
 * them until it is listed here.
 */
export const EMBED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Automation: [
    'id',
    'name',
    'description',
    'kind',
    'version',
    'parameters',
    'allowAllUsersToRun',
    'viewerCanRun',
  ],
  ParameterDeclaration: ['name', 'type', 'required', 'default', 'description', 'allowedValues'],
  Run: [
    'id',
    'state',
    'automationId',
    'automation',
    'version',
    'attempt',
    'maxAttempts',
    'outputs',
    'error',
    'position',
    'createdAt',
    'startedAt',
    'finishedAt',
    'durationMs',
  ],
}

/** Types whose fields an embed token may always read: roots (scoped field by field) and result wrappers. */
const open = (name: string, schema: GraphQLSchema) =>
  name.startsWith('__') ||
  [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].some(
    (t) => t?.name === name,
  ) ||
  name.endsWith('Success') ||
  name.endsWith('Error') ||
  name === 'ValidationIssue'

/** Wraps every field outside the embed surface so an embed token gets a ForbiddenError. */
export function restrictEmbedViewers(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    // By tag, not isObjectType: graphql's CJS and ESM builds can both be loaded (see yoga.ts).
    if (Object.prototype.toString.call(type) !== '[object GraphQLObjectType]' || open(type.name, schema))
      continue
    const allowed = new Set(EMBED_FIELDS[type.name] ?? [])
    for (const field of Object.values((type as GraphQLObjectType).getFields())) {
      if (allowed.has(field.name)) continue
      const resolve = field.resolve ?? defaultFieldResolver
      field.resolve = (source, args, ctx: Context, info) => {
        if (ctx.viewer?.type === 'embed')
          throw new ForbiddenError(`a run button's token may not read ${type.name}.${field.name}`)
        return resolve(source, args, ctx, info)
      }
    }
  }
  return schema
}
