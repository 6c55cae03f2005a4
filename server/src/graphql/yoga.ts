import type { IncomingMessage } from 'node:http'
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor'
import type { GraphQLError } from 'graphql'
import { createGraphQLError, createYoga, maskError, type Plugin } from 'graphql-yoga'
import { coerceError, isConnectionError } from '../errors'
import type { Services } from '../services'
import type { Context } from './context'
import { buildContext, headersOf } from './context-factory'
import { schema } from './schema'

// Set-Cookie values produced while executing, keyed by the request they answer.
const cookiesFor = new WeakMap<Request, string[]>()

const cookiePlugin: Plugin = {
  onResponse({ request, response }) {
    for (const c of cookiesFor.get(request) ?? []) response.headers.append('set-cookie', c)
  },
}

/** Limits that keep one query from taking the server down (depth, cost, aliases, size). */
export const armor = () =>
  EnvelopArmorPlugin({
    maxDepth: { n: 12, ignoreIntrospection: true },
    costLimit: { maxCost: 20_000, ignoreIntrospection: true },
    maxAliases: { n: 30 },
    maxDirectives: { n: 30 },
    maxTokens: { n: 5000 },
    blockFieldSuggestion: { enabled: true },
  })

export function createGraphQL(services: Services) {
  return createYoga<{ connectionParams?: Record<string, unknown>; req?: IncomingMessage }, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    graphiql: { subscriptionsProtocol: 'WS', title: 'Switchyard GraphQL' },
    landingPage: false,
    // Run buttons call from other origins with a bearer embed token; cookies are never
    // sent cross-origin (credentials: false), so a foreign page cannot ride a session.
    cors: (request) => ({
      origin: request.headers.get('origin') ?? '*',
      credentials: false,
      methods: ['GET', 'POST'],
      allowedHeaders: ['content-type', 'authorization'],
    }),
    // Unexpected errors become "Unexpected error." for the client and are logged in full.
    maskedErrors: {
      // Errors we raise on purpose (bad credentials, wrong origin) reach the client
      // even when raised while building the context; anything else is masked.
      maskError: (error, message, isDev) => {
        // Checked by shape, not instanceof: graphql's CJS and ESM builds can both be loaded.
        const intended = (e: unknown): e is GraphQLError =>
          e instanceof Error &&
          e.name === 'GraphQLError' &&
          typeof (e as GraphQLError).extensions?.code === 'string'
        const original = (error as { originalError?: unknown }).originalError
        if (intended(original)) return original
        if (intended(error) && !original) return error
        // A database connection that died under the request (a restart, pg_terminate_backend):
        // nothing was half-done that a retry would repeat wrongly, so say so.
        if (isConnectionError(coerceError(original ?? error))) {
          return createGraphQLError('the database connection was lost while answering; retry the request', {
            extensions: { code: 'DATABASE_UNAVAILABLE', retryable: true },
          })
        }
        return maskError(error, message, isDev)
      },
    },
    logging: {
      debug: (...a) => services.log.debug(a.map(String).join(' ')),
      info: (...a) => services.log.info(a.map(String).join(' ')),
      warn: (...a) => services.log.warn(a.map(String).join(' ')),
      error: (...a) =>
        services.log.error(
          { err: a.find((x) => x instanceof Error) },
          a
            .filter((x) => !(x instanceof Error))
            .map(String)
            .join(' '),
        ),
    },
    plugins: [armor(), cookiePlugin],
    context: async ({ request, connectionParams, req }) => {
      const cookies: string[] = []
      if (request) cookiesFor.set(request, cookies)
      // Over graphql-ws there is no fetch Request: the headers are the upgrade request's.
      const headers = req
        ? headersOf(req.headers)
        : {
            authorization: request.headers.get('authorization'),
            cookie: request.headers.get('cookie'),
            origin: request.headers.get('origin'),
          }
      return buildContext(services, { headers, connectionParams }, cookies)
    },
  })
}

export type GraphQLServer = ReturnType<typeof createGraphQL>
