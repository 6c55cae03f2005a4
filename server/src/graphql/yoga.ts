import type { IncomingMessage } from 'node:http'
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor'
import { GraphQLError } from 'graphql'
import { createGraphQLError, createYoga, type GraphiQLOptions, maskError, type Plugin } from 'graphql-yoga'
import { coerceError, isConnectionError } from '../errors'
import type { Services } from '../services'
import type { Context } from './context'
import { buildContext, headersOf } from './context-factory'
import { inputGuard, noIntrospection } from './input-guard'
import { schema } from './schema'

// Set-Cookie values produced while executing, keyed by the request they answer.
const cookiesFor = new WeakMap<Request, string[]>()

const cookiePlugin: Plugin = {
  onResponse({ request, response }) {
    for (const c of cookiesFor.get(request) ?? []) response.headers.append('set-cookie', c)
  },
}

// Armor calls every refusal a "Syntax Error"; the query is well-formed, only too big.
// Its handlers see the error before it is thrown, so the label is dropped there.
const onReject = [
  (_ctx: unknown, err: Error) => {
    err.message = err.message.replace(/^Syntax Error: /, '')
  },
]

/** Limits that keep one query from taking the server down (depth, cost, aliases, size). */
export const armor = () =>
  EnvelopArmorPlugin({
    maxDepth: { n: 12, ignoreIntrospection: true, onReject },
    costLimit: { maxCost: 20_000, ignoreIntrospection: true, onReject },
    maxAliases: { n: 30, onReject },
    maxDirectives: { n: 30, onReject },
    maxTokens: { n: 5000, onReject },
    blockFieldSuggestion: { enabled: true },
  })

/** Codes for expected failures raised outside a typed result (field scopes, plain fields). */
const EXPECTED_CODES: Readonly<Record<string, string>> = {
  ForbiddenError: 'FORBIDDEN',
  NotFoundError: 'NOT_FOUND',
  ValidationError: 'BAD_USER_INPUT',
}

/**
 * An expected failure (a refused scope, a bad argument) that reached a field
 * without a typed result keeps its message and gets a code, instead of being
 * masked as an unexpected error.
 */
function expectedError(error: unknown, original: unknown): GraphQLError | undefined {
  if (!(original instanceof Error)) return undefined
  const code = EXPECTED_CODES[original.name]
  if (!code) return undefined
  const e = error as GraphQLError
  const issues = (original as { issues?: unknown }).issues
  return new GraphQLError(original.message, {
    nodes: e.nodes ?? null,
    path: e.path ?? null,
    extensions: { code, ...(Array.isArray(issues) && issues.length > 0 ? { issues } : {}) },
  })
}

/**
 * The code of an error the client caused and was told about (a refused scope,
 * bad input, not found, a credential that no longer holds): yoga hands these
 * to its error logger like any other, but they are no fault of the server.
 */
export function expectedCode(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined
  const original = (err as { originalError?: unknown }).originalError
  if (original instanceof Error) {
    const code = EXPECTED_CODES[original.name]
    if (code) return code
    if (original.name !== 'GraphQLError') return undefined
    return expectedCode(original)
  }
  const code = (err as GraphQLError).extensions?.code
  return err.name === 'GraphQLError' && typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR'
    ? code
    : undefined
}

/**
 * GraphiQL from the server itself: yoga's default page loads its scripts from a CDN,
 * which a self-hosted server (often offline) must never reach. The bundle is about
 * 9 MB, so it is loaded on the first visit, not at start (idle memory), and the page
 * is rendered once per server.
 */
function bundledGraphiQL(): (opts: GraphiQLOptions) => Promise<string> {
  let page: Promise<string> | undefined
  return (opts) => {
    page ??= import('@graphql-yoga/render-graphiql').then((m) => m.renderGraphiQL(opts))
    return page
  }
}

export function createGraphQL(services: Services) {
  return createYoga<{ connectionParams?: Record<string, unknown>; req?: IncomingMessage }, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    graphiql: services.config.graphiql ? { subscriptionsProtocol: 'WS', title: 'Switchyard GraphQL' } : false,
    renderGraphiQL: bundledGraphiQL(),
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
        const expected = expectedError(error, original)
        if (expected) return expected
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
      error: (...a) => {
        const err = a.find((x) => x instanceof Error)
        const code = expectedCode(err)
        // A user error (FORBIDDEN, BAD_USER_INPUT...) is worth a line, not an error with a stack.
        if (code) {
          const path = (err as GraphQLError).path?.join('.')
          return services.log.info({ code, path, message: (err as Error).message }, 'request refused')
        }
        services.log.error(
          { err },
          a
            .filter((x) => !(x instanceof Error))
            .map(String)
            .join(' '),
        )
      },
    },
    plugins: [
      armor(),
      cookiePlugin,
      inputGuard,
      // After the input guard, which may refuse the operation before any stream opens.
      services.sharedExecution.plugin,
      ...(services.config.graphiql
        ? []
        : [{ onValidate: ({ addValidationRule }) => addValidationRule(noIntrospection) } satisfies Plugin]),
    ],
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
            'user-agent': request.headers.get('user-agent'),
          }
      return buildContext(
        services,
        { headers, connectionParams, address: req?.socket.remoteAddress },
        cookies,
      )
    },
  })
}

export type GraphQLServer = ReturnType<typeof createGraphQL>
