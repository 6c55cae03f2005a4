import { type FileLimits, defaultFileLimits, defaultResultLimits } from '../config'
import type { Database } from '../db/database'
import type { Egress } from '../egress'
import type { ResultLimits } from '../warehouse/limits'
import type { Warehouse } from '../warehouse/warehouse'
import { deriveKey } from './crypto'

/**
 * What data features need beyond the database: the warehouse (user SQL as
 * the organization's role) and the key that seals datasource secrets. Shared
 * by kinds (KindServices.data) and GraphQL (Services.data).
 */
export interface DataServices {
  readonly db: Database
  readonly warehouse: Warehouse
  /** AES-256-GCM key for connection strings, derived from SWITCHYARD_SECRET_KEY. */
  readonly secretsKey: Buffer
  /** Caps on what a run reads from a CSV or XLSX file (SWITCHYARD_MAX_*). */
  readonly fileLimits: FileLimits
  /** Caps on one statement's result on a datasource, as on the warehouse (SWITCHYARD_MAX_RESULT_*). */
  readonly resultLimits: ResultLimits
  /** Every outbound connection of a run (HTTP, downloads, reporters, datasources) goes through this. */
  readonly egress: Egress
}

export function createDataServices(opts: {
  db: Database
  warehouse: Warehouse
  secretKey: Buffer
  /** Default: the caps of an environment that sets none. */
  fileLimits?: FileLimits
  resultLimits?: ResultLimits
  egress: Egress
}): DataServices {
  return Object.freeze({
    db: opts.db,
    warehouse: opts.warehouse,
    secretsKey: deriveKey(opts.secretKey, 'datasource-secrets'),
    fileLimits: opts.fileLimits ?? defaultFileLimits(),
    resultLimits: opts.resultLimits ?? defaultResultLimits(),
    egress: opts.egress,
  })
}
