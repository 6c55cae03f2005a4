import type { Queryable } from '../db/database'

/** Sign-in limits (SWITCHYARD_LOGIN_*). */
export interface ThrottleSettings {
  /** Failed sign-ins per account in one window before that account is locked for the rest of it. */
  readonly accountFailures: number
  /** Failed sign-ins per client address in one window (guessing across many accounts). */
  readonly addressFailures: number
  readonly windowSeconds: number
}

/** Too many failed sign-ins: wait `retryAfterSeconds` before trying again. */
export class TooManyAttemptsError extends Error {
  override name = 'TooManyAttemptsError'
  constructor(readonly retryAfterSeconds: number) {
    super(`too many attempts; retry in ${retryAfterSeconds} s`)
  }
}

export interface LoginThrottle {
  /** Throws TooManyAttemptsError when the account or the address used up its failures. */
  check(keys: { email: string; address: string | undefined }): Promise<void>
  /** Counts one failed sign-in against the account and the address. */
  failed(keys: { email: string; address: string | undefined }): Promise<void>
  /** A successful sign-in clears the account's count (not the address's). */
  succeeded(email: string): Promise<void>
}

const keysOf = (k: { email: string; address: string | undefined }) => ({
  account: `account:${k.email.toLowerCase()}`,
  address: k.address ? `address:${k.address}` : null,
})

/**
 * A fixed-window failure counter in the login_throttle table, so every node
 * shares one count (and PGlite works the same). The window, its start and the
 * wait are computed by the database clock, not the node's.
 */
export function createLoginThrottle(db: Queryable, settings: ThrottleSettings): LoginThrottle {
  const window = `${settings.windowSeconds} seconds`
  return {
    async check(k) {
      const { account, address } = keysOf(k)
      const rows = await db.query<{ key: string; failures: number; wait: number }>(
        `select key, failures, ceil(extract(epoch from window_start + $2::interval - now()))::int as wait
         from login_throttle where key = any($1::text[]) and window_start + $2::interval > now()`,
        [[account, address].filter((x) => x !== null), window],
      )
      const over = rows.filter((r) =>
        r.key === account ? r.failures >= settings.accountFailures : r.failures >= settings.addressFailures,
      )
      if (over.length > 0) throw new TooManyAttemptsError(Math.max(1, ...over.map((r) => r.wait)))
    },
    async failed(k) {
      const { account, address } = keysOf(k)
      await db.query(
        `insert into login_throttle (key, failures, window_start)
         select k, 1, now() from unnest($1::text[]) as k
         on conflict (key) do update set
           failures = case when login_throttle.window_start + $2::interval <= now() then 1 else login_throttle.failures + 1 end,
           window_start = case when login_throttle.window_start + $2::interval <= now() then now() else login_throttle.window_start end`,
        [[account, address].filter((x) => x !== null), window],
      )
    },
    async succeeded(email) {
      await db.query('delete from login_throttle where key = $1', [
        keysOf({ email, address: undefined }).account,
      ])
    },
  }
}
