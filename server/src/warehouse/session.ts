import type { Readable } from 'node:stream'
import type { Queryable, Row } from '../db/database'
import type { Column } from '../data/rows'
import { coerceError } from '../errors'
import { RunFailure } from '../kinds/kind'

/**
 * Work on one organization's warehouse. On a server the whole session is one
 * transaction on a connection logged in as the organization's role, in the
 * organization's own database, so a failure anywhere rolls everything back.
 * On the embedded default (a PGlite of the organization's own, in a worker
 * thread) each call is a short transaction of its own, so a long load never
 * holds the instance for others; callers that need several statements to land
 * together use atomic().
 */
export interface WarehouseSession {
  /** The schema storages live in (unqualified names resolve to it). */
  readonly schema: string
  /** True on PGlite: statements are not one transaction, and COPY is unavailable. */
  readonly embedded: boolean
  /** Runs one statement; its result is read under the result caps (see limits.ts). */
  query<T = Row>(text: string, params?: readonly unknown[]): Promise<T[]>
  /** Appends rows of text values (as PostgreSQL prints them) to a table of this schema. */
  insertRows(table: string, columns: readonly Column[], rows: readonly (string | null)[][]): Promise<void>
  /** Pipes COPY text into a table; only on a server (see `embedded`). */
  copyIn(table: string, columns: readonly Column[], data: Readable): Promise<void>
  /** Runs fn so that its statements commit together or not at all. */
  atomic<T>(fn: (q: Queryable) => Promise<T>): Promise<T>
}

export interface SessionOptions {
  /** Per statement. */
  timeoutMs: number
  signal?: AbortSignal | undefined
}

/** The schema storages live in, in every organization's own database. */
export const WAREHOUSE_SCHEMA = 'public'

/** Turns a driver error into a failure whose message reaches the run as is. */
export function sqlFailure(err: unknown): Error {
  if (err instanceof RunFailure) return err
  const e = coerceError(err) as Error & { code?: string }
  if (e.code === '57014') {
    return new RunFailure(
      `SQL error 57014: ${e.message} (the statement ran past its timeout; raise timeoutMs or make it cheaper)`,
    )
  }
  if (/CONNECTION_CLOSED|CONNECTION_ENDED|CONNECTION_DESTROYED|57P01/.test(`${e.code} ${e.message}`)) {
    return new RunFailure(
      `the warehouse connection was lost (${e.code ?? e.message}); nothing was committed, retry the run`,
    )
  }
  return new RunFailure(`SQL error${e.code ? ` ${e.code}` : ''}: ${e.message}`)
}

/** A statement's timeout as SET accepts it, never below 100 ms. */
export const timeoutSetting = (ms: number) => Math.max(100, Math.floor(ms))
