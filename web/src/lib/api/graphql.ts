import type { ValidationIssue } from './types'

type Fetch = typeof fetch

interface GraphQLErrorShape {
  message: string
  extensions?: { code?: string; issues?: ValidationIssue[] }
}

/** The session is missing or expired: the caller should send the user to /login. */
export class UnauthenticatedError extends Error {}

/**
 * The server answered with GraphQL errors (not typed results) or an HTTP failure;
 * `issues` name the bad arguments of a query the server refused (BAD_USER_INPUT).
 */
export class RequestError extends Error {
  readonly issues: ValidationIssue[]

  constructor(message: string, opts: { cause?: unknown; issues?: ValidationIssue[] } = {}) {
    super(message, { cause: opts.cause })
    this.issues = opts.issues ?? []
  }
}

/**
 * POSTs one operation to /graphql with the session cookie. Top-level errors
 * become exceptions; typed failures (`... on Error`) stay in the data.
 */
export async function request<T>(
  query: string,
  variables: Record<string, unknown> = {},
  fetchFn: Fetch = fetch,
): Promise<T> {
  let response: Response
  try {
    response = await fetchFn('/graphql', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query, variables }),
    })
  } catch (err) {
    throw new RequestError('the server cannot be reached; check your connection', { cause: err })
  }
  const body = (await response.json().catch(() => ({}))) as { data?: T; errors?: GraphQLErrorShape[] }
  const errors = body.errors ?? []
  if (errors.some((e) => e.extensions?.code === 'UNAUTHENTICATED') || response.status === 401) {
    throw new UnauthenticatedError(errors[0]?.message ?? 'not signed in')
  }
  if (errors.length > 0)
    throw new RequestError(errors.map((e) => e.message).join('; '), {
      issues: errors.flatMap((e) => e.extensions?.issues ?? []),
    })
  if (!response.ok || body.data === undefined)
    throw new RequestError(`the server answered ${response.status}`)
  return body.data
}

/** Selection appended to every mutation result union. */
export const RESULT_ERRORS =
  '__typename ... on Error { message } ... on ValidationError { issues { path message } }'

/** A typed failure of a mutation: its message and, for validation, one issue per field. */
export interface Failure {
  message: string
  issues: ValidationIssue[]
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; failure: Failure }

interface ResultUnion {
  __typename: string
  message?: string
  issues?: ValidationIssue[]
}

/**
 * Reads a mutation's union result: every error member implements
 * `Error { message }`; the value is the success member's `key`, or the whole
 * member without a key.
 */
export function outcome<T>(result: unknown, key?: string): Outcome<T> {
  const union = result as ResultUnion & Record<string, unknown>
  if (typeof union.message === 'string') {
    return { ok: false, failure: { message: union.message, issues: union.issues ?? [] } }
  }
  return { ok: true, value: (key ? union[key] : union) as T }
}

/** Runs a mutation and reads its union result in one go. */
export async function mutate<T>(opts: {
  query: string
  variables?: Record<string, unknown>
  field: string
  key?: string
}): Promise<Outcome<T>> {
  try {
    const data = await request<Record<string, unknown>>(opts.query, opts.variables)
    return outcome<T>(data[opts.field], opts.key)
  } catch (err) {
    const message =
      err instanceof UnauthenticatedError
        ? 'Your session has ended: sign in again (reload the page).'
        : err instanceof Error
          ? err.message
          : String(err)
    return { ok: false, failure: { message, issues: [] } }
  }
}

/** What to say above a form: the message, or a pointer to the fields when the issues name them. */
export function failureText(failure: Failure): string {
  return failure.issues.length > 0 ? 'Not saved: fix the fields marked below.' : failure.message
}

/** Messages of the issues at `path` or below it. */
export function issuesAt(issues: readonly ValidationIssue[], path: string): string[] {
  return issues.filter((i) => i.path === path || i.path.startsWith(`${path}.`)).map((i) => i.message)
}
