/** GraphQL over HTTP for the button, and the errors it shows to the person who clicked. */

/** Where and as whom the button talks to Switchyard. */
export interface Endpoint {
  http: string
  ws: string
  /** An embed token (`sye_…`); without one the request rides the session cookie (same origin only). */
  token: string | null
}

/** Codes the button acts on; others come from the server's typed errors (`NotFoundError`, …). */
export const ErrorCode = {
  NETWORK: 'NETWORK',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN_ORIGIN: 'FORBIDDEN_ORIGIN',
  SETUP: 'SETUP',
  ERROR: 'ERROR',
} as const

/** An error whose message is written for the page's reader, shown as is. */
export class ButtonError extends Error {
  constructor(
    message: string,
    readonly code: string = ErrorCode.ERROR,
  ) {
    super(message)
  }
}

interface GraphQLErrorJson {
  message: string
  extensions?: { code?: unknown }
}

/**
 * Resolves `endpoint` (the Switchyard base URL, or its /graphql URL) against
 * the page; `fallback` is where the script itself came from.
 */
export function endpointOf(endpoint: string | null, fallback: string, token: string | null): Endpoint {
  const base = new URL(endpoint || fallback, location.href).href.replace(/\/(graphql\/?)?$/, '')
  const http = `${base}/graphql`
  return { http, ws: http.replace(/^http/, 'ws'), token }
}

/** Turns a GraphQL error into a sentence that tells the page's owner what to fix. */
export function explain(e: GraphQLErrorJson): ButtonError {
  const code = typeof e.extensions?.code === 'string' ? e.extensions.code : ErrorCode.ERROR
  if (code === ErrorCode.UNAUTHENTICATED) {
    return new ButtonError(
      'This button’s token is unknown, expired or revoked; ask for a new embed token.',
      code,
    )
  }
  if (code === ErrorCode.FORBIDDEN_ORIGIN) {
    return new ButtonError(
      `This button’s token may not be used on ${location.origin}; add that origin to the token’s allowed origins.`,
      code,
    )
  }
  return new ButtonError(e.message, code)
}

/** POSTs one operation; resolves to `data`, or throws a ButtonError with a readable message. */
export async function request<T>(
  ep: Endpoint,
  query: string,
  variables: Record<string, unknown>,
): Promise<T> {
  let res: Response
  try {
    res = await fetch(ep.http, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(ep.token ? { authorization: `Bearer ${ep.token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    })
  } catch {
    throw new ButtonError(`Cannot reach Switchyard at ${new URL(ep.http).origin}.`, ErrorCode.NETWORK)
  }
  // Refusals (401, 403) still carry a GraphQL body: read it before looking at the status.
  const body = (await res.json().catch(() => ({}))) as { data?: T | null; errors?: GraphQLErrorJson[] }
  if (body.errors?.[0]) throw explain(body.errors[0])
  // No GraphQL body at all (a proxy's 502, a restart): as transient as a network error.
  if (!body.data) throw new ButtonError(`Switchyard answered ${res.status} without data.`, ErrorCode.NETWORK)
  return body.data
}
