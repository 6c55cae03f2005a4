import type { IncomingHttpHeaders } from 'node:http'
import { GraphQLError } from 'graphql'
import { SESSION_COOKIE, authenticate, credentialFrom } from '../auth/authenticate'
import { originAllowed } from '../embed/tokens'
import type { Services } from '../services'
import type { Context } from './context'

export interface ContextSource {
  headers: {
    authorization?: string | null
    cookie?: string | null
    origin?: string | null
    'user-agent'?: string | null
  }
  /** The peer address of the HTTP request or WebSocket. */
  address?: string | undefined
  /** graphql-ws connectionParams: `{ authorization: 'Bearer …' }` (browsers cannot set WS headers). */
  connectionParams?: Record<string, unknown> | undefined
}

/**
 * Builds the per-operation context for HTTP and WebSocket alike. A credential
 * that is present but invalid is an error, not an anonymous request, so clients
 * learn their session expired or their token was revoked.
 */
export async function buildContext(
  services: Services,
  src: ContextSource,
  responseCookies: string[] = [],
): Promise<Context> {
  const fromParams = src.connectionParams?.authorization
  const bearer =
    typeof fromParams === 'string' && fromParams.startsWith('Bearer ')
      ? fromParams.slice(7).trim()
      : credentialFrom({ authorization: src.headers.authorization ?? null, cookie: null })
  const credential = bearer ?? credentialFrom({ authorization: null, cookie: src.headers.cookie ?? null })
  const viewer = await authenticate(services.db, credential)
  if (credential && !viewer && !bearer) {
    // A stale session cookie: the browser cannot drop an httpOnly cookie itself, so the
    // request goes on anonymously (the sign-in page must work) and the cookie is cleared.
    responseCookies.push(`${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`)
  } else if (credential && !viewer) {
    throw new GraphQLError('not signed in: the session expired or the token is unknown, expired or revoked', {
      extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
    })
  }
  const origin = src.headers.origin ?? undefined
  if (viewer?.type === 'embed' && !originAllowed(viewer, origin)) {
    throw new GraphQLError(`this embed token may not be used from origin ${origin ?? '(none)'}`, {
      extensions: { code: 'FORBIDDEN_ORIGIN', http: { status: 403 } },
    })
  }
  return {
    services,
    viewer,
    origin,
    clientAddress: src.address,
    userAgent: src.headers['user-agent']?.slice(0, 300) ?? undefined,
    responseCookies,
    memo: new Map(),
    credential: viewer ? credential : undefined,
  }
}

export function headersOf(h: IncomingHttpHeaders): ContextSource['headers'] {
  return {
    authorization: h.authorization ?? null,
    cookie: h.cookie ?? null,
    origin: h.origin ?? null,
    'user-agent': h['user-agent'] ?? null,
  }
}
