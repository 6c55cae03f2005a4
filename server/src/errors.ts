/** Every `catch` passes through here so the rest of the code handles Error only. */
export function coerceError(err: unknown): Error {
  if (err instanceof Error) return err
  if (typeof err === 'object' && err !== null && 'message' in err) {
    return new Error(String((err as { message: unknown }).message), { cause: err })
  }
  return new Error(String(err))
}

/** An expected failure shown to the client as a typed result (see graphql/errors.ts). */
export class NotFoundError extends Error {
  override name = 'NotFoundError'
  constructor(what: string) {
    super(`${what} not found`)
  }
}

export class ForbiddenError extends Error {
  override name = 'ForbiddenError'
}

export class ValidationError extends Error {
  override name = 'ValidationError'
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super(message)
  }
}

/**
 * A non-admin saved an automation that runs as someone else: saving would let the
 * run borrow that user's rights, so the save is refused (see README, permissions).
 */
export class RunAsForbiddenError extends Error {
  override name = 'RunAsForbiddenError'
  constructor(readonly runAsUserId: string | null) {
    super(
      'only an admin or the run-as user may save a new version of this automation; set runAsUserId to your own user id to make it run as you',
    )
  }
}

/** A mutex was busy and its policy is SKIP: no run was queued. */
export class MutexBusyError extends Error {
  override name = 'MutexBusyError'
  constructor(
    readonly mutex: string,
    readonly runId: string,
  ) {
    super(`mutex "${mutex}" is busy and its policy is SKIP; the run was recorded as SKIPPED`)
  }
}

/** SQLSTATEs that mean "the connection went away"; callers retry after a pause. */
export const CONNECTION_SQLSTATES = new Set([
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
  '57P01',
  '57P02',
  '57P03',
])

export function isConnectionError(err: Error): boolean {
  const code = (err as { code?: string }).code
  if (code && CONNECTION_SQLSTATES.has(code)) return true
  return /ECONNREFUSED|ECONNRESET|CONNECTION_CLOSED|CONNECTION_ENDED|CONNECT_TIMEOUT|EPIPE/.test(
    `${code ?? ''} ${err.message}`,
  )
}
