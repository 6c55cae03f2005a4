import type { Database } from '../db/database'
import { createEmbeddedWarehouse } from './embedded/host'
import type { ResultLimits } from './limits'
import { createServerWarehouse } from './server'
import type { SessionOptions, WarehouseSession } from './session'

export interface WarehouseResult {
  /** The first `keepRows` rows. */
  rows: Record<string, unknown>[]
  /** Rows the statement returned (all read, under the caps) or affected. */
  rowCount: number
  command: string | undefined
}

export interface ExecuteRequest {
  orgId: string
  statement: string
  parameters: Record<string, unknown>
  timeoutMs: number
  /** Rows to keep in the result; the rest are read (and capped) but only counted. */
  keepRows?: number
  signal?: AbortSignal
}

/**
 * The internal warehouse: one database per organization, which is all its
 * SQL can see. On PostgreSQL a database of its own reached through the
 * organization's own role (server.ts); on the embedded default a PGlite of
 * its own in a worker thread (embedded/). Nothing of the platform lives there.
 */
export interface Warehouse {
  /** Creates the organization's warehouse if missing; returns the schema storages live in. */
  ensure(orgId: string): Promise<string>
  /** Runs one user statement (`${name}` bound as parameters) under the result caps. */
  execute(req: ExecuteRequest): Promise<WarehouseResult>
  /** Runs fn with a session on the organization's warehouse (see session.ts for transaction scope). */
  session<T>(orgId: string, opts: SessionOptions, fn: (s: WarehouseSession) => Promise<T>): Promise<T>
  stop(): Promise<void>
}

export interface WarehouseOptions {
  /** The platform's database: the registry of warehouses, and the lock that serialises their creation. */
  db: Database
  secretKey: Buffer
  /** A server whose role may create databases and roles; unset: embedded PGlite warehouses. */
  serverUrl: string | undefined
  /** Where embedded warehouses keep their files, one directory each; `memory://` keeps them in memory. */
  dataDir: string
  /** An embedded warehouse idle this long is closed (its worker and memory freed). */
  idleMs: number
  limits: ResultLimits
}

/** Opens the warehouses: on a server when one is configured, else embedded. */
export function createWarehouse(opts: WarehouseOptions): Warehouse {
  if (opts.serverUrl) return createServerWarehouse({ ...opts, adminUrl: opts.serverUrl })
  return createEmbeddedWarehouse(opts)
}
