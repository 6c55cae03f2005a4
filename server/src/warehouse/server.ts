import postgres from 'postgres'
import type { Database } from '../db/database'
import type { ResultLimits } from './limits'
import { bindParameters, warehouseIdentity } from './names'
import { createProvisioner, databaseUrl } from './provision'
import { recordWarehouse } from './registry'
import { readCursor, serverSession } from './server-session'
import { WAREHOUSE_SCHEMA, sqlFailure, timeoutSetting } from './session'
import type { Warehouse } from './warehouse'

/**
 * Warehouses on a PostgreSQL server: one database per organization, owned by
 * and reachable only through that organization's own role. User SQL runs on
 * a connection logged in as that role to that database, so it can notify,
 * lock or list nothing of the platform (LISTEN/NOTIFY and advisory locks are
 * per database) or of another organization.
 */
export function createServerWarehouse(opts: {
  db: Database
  secretKey: Buffer
  /** A role that may create databases and roles. */
  adminUrl: string
  limits: ResultLimits
}): Warehouse {
  const { db, secretKey, adminUrl, limits } = opts
  const provisioner = createProvisioner(db, adminUrl)
  const ready = new Map<string, Promise<string>>()
  const pools = new Map<string, postgres.Sql>()

  const ensure = (orgId: string): Promise<string> => {
    let p = ready.get(orgId)
    if (!p) {
      const { name, password } = warehouseIdentity(orgId, secretKey)
      p = provisioner
        .provision(name, password)
        .then(() => recordWarehouse(db, orgId, name))
        .then(() => WAREHOUSE_SCHEMA)
        .catch((err) => {
          ready.delete(orgId)
          throw err
        })
      ready.set(orgId, p)
    }
    return p
  }

  const poolFor = (orgId: string): postgres.Sql => {
    let sql = pools.get(orgId)
    if (!sql) {
      const { name, password } = warehouseIdentity(orgId, secretKey)
      sql = postgres(databaseUrl(adminUrl, name, { name, password }), {
        // Loads hold a connection for their whole transaction; leave room for previews.
        max: 4,
        idle_timeout: 60,
        onnotice: () => {},
        connection: { application_name: 'switchyard-warehouse' },
      })
      pools.set(orgId, sql)
    }
    return sql
  }

  return {
    ensure,
    async execute(req) {
      await ensure(req.orgId)
      const { text, params } = bindParameters(req.statement, req.parameters)
      let current: { cancel(): void } | undefined
      const onAbort = () => current?.cancel()
      req.signal?.addEventListener('abort', onAbort, { once: true })
      try {
        const pool = poolFor(req.orgId)
        return await pool.begin(async (tx) => {
          await tx.unsafe(`set local statement_timeout = ${timeoutSetting(req.timeoutMs)}`)
          return readCursor<Record<string, unknown>>(tx, text, params, {
            limits,
            keep: req.keepRows,
            close: pool.CLOSE,
            track: (q) => {
              current = q
            },
          })
        })
      } catch (err) {
        throw sqlFailure(err)
      } finally {
        req.signal?.removeEventListener('abort', onAbort)
      }
    },
    async session(orgId, o, fn) {
      await ensure(orgId)
      return serverSession(poolFor(orgId), limits, o, fn)
    },
    async stop() {
      await Promise.all([...pools.values()].map((p) => p.end({ timeout: 2 })))
      pools.clear()
      await provisioner.stop()
    },
  }
}
