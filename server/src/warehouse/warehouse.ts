import postgres from 'postgres'
import type { Database, Queryable } from '../db/database'
import { RunFailure } from '../kinds/kind'
import { bindParameters, warehouseNames } from './names'
import { type SessionOptions, type WarehouseSession, embeddedSession, serverSession } from './session'

export interface WarehouseResult {
  rows: Record<string, unknown>[]
  rowCount: number
  command: string | undefined
}

export interface ExecuteRequest {
  orgId: string
  statement: string
  parameters: Record<string, unknown>
  timeoutMs: number
  signal?: AbortSignal
}

/**
 * The internal warehouse: one schema per organization, reached only through
 * that organization's restricted role, which has no privilege on platform tables.
 */
export interface Warehouse {
  /** Creates the organization's schema and role if missing; returns the schema name. */
  ensure(orgId: string): Promise<string>
  execute(req: ExecuteRequest): Promise<WarehouseResult>
  /** Runs fn with a session as the organization's role (see session.ts for transaction scope). */
  session<T>(orgId: string, opts: SessionOptions, fn: (s: WarehouseSession) => Promise<T>): Promise<T>
  /** Refuses user SQL that could leave the role on the embedded database; a no-op on a server. */
  assertUserSql(statement: string): void
  stop(): Promise<void>
}

// Escape hatches out of SET ROLE on the embedded database, where user SQL shares
// the superuser's session (PGlite has one connection). A real server needs none
// of this: there the statement runs on a connection logged in as the role itself.
// The check runs on the statement with comments blanked and identifier quotes
// removed, so `set/**/"role"` reads as `set role`.
const EMBEDDED_DENY =
  /\b(set_config|session_authorization|reset|discard|set\s+(local\s+|session\s+)?(role|session)|dblink|lo_import|lo_export|pg_read_file|pg_read_binary_file|pg_ls_dir|copy|query_to_xml\w*)\b|u&/i

/**
 * Text can be assembled at run time (`'rese' || 't role'`) and run by dynamic SQL,
 * which no pattern can see. So on the embedded database the routes to dynamic SQL
 * are closed by privilege instead: no procedural or SQL language for PUBLIC (no DO
 * blocks, no new functions), and no set_config or query_to_xml. The platform runs
 * as the superuser and keeps them; an embedded database has no other users.
 */
const EMBEDDED_REVOKES = [
  'revoke usage on language plpgsql from public',
  'revoke usage on language sql from public',
  'revoke execute on function set_config(text, text, boolean) from public',
  'revoke execute on function query_to_xml(text, boolean, boolean, text) from public',
  'revoke execute on function query_to_xmlschema(text, boolean, boolean, text) from public',
  'revoke execute on function query_to_xml_and_xmlschema(text, boolean, boolean, text) from public',
]

/** The statement as the deny check reads it: comments blanked, identifier quotes dropped. */
function normalizeForCheck(statement: string): string {
  return statement
    .replace(/\/\*[\s\S]*?(\*\/|$)/g, ' ')
    .replace(/--[^\n]*/g, ' ')
    .replace(/"/g, '')
}

export function createWarehouse(opts: {
  db: Database
  secretKey: Buffer
  databaseUrl: string | undefined
}): Warehouse {
  const { db, secretKey, databaseUrl } = opts
  const ready = new Map<string, Promise<string>>()
  const pools = new Map<string, postgres.Sql>()

  const ensure = (orgId: string): Promise<string> => {
    let p = ready.get(orgId)
    if (!p) {
      p = create(orgId).catch((err) => {
        ready.delete(orgId)
        throw err
      })
      ready.set(orgId, p)
    }
    return p
  }

  const create = async (orgId: string): Promise<string> => {
    const { schema, role, password } = warehouseNames(orgId, secretKey)
    await db.transaction(async (tx) => {
      // Role creation is cluster-wide and not transactional against concurrent nodes: serialise it.
      await tx.query('select pg_advisory_xact_lock(hashtext($1))', [role])
      const [exists] = await tx.query('select 1 from pg_roles where rolname = $1', [role])
      if (!exists) await tx.query(`create role ${role} login password '${password}' connection limit 8`)
      else await tx.query(`alter role ${role} login password '${password}'`)
      await tx.query(`create schema if not exists ${schema} authorization ${role}`)
      await tx.query(`revoke all on schema ${schema} from public`)
      await tx.query(`alter role ${role} set search_path = ${schema}`)
      // Embedded: one process owns the database, so stages left by a crash are garbage now.
      if (!databaseUrl) {
        await dropStages(tx, schema)
        for (const revoke of EMBEDDED_REVOKES) await tx.query(revoke)
      }
    })
    return schema
  }

  const poolFor = (orgId: string): postgres.Sql => {
    let sql = pools.get(orgId)
    if (!sql) {
      const { role, password } = warehouseNames(orgId, secretKey)
      const url = new URL(databaseUrl!)
      url.username = role
      url.password = password
      sql = postgres(url.toString(), {
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

  const execute = async (req: ExecuteRequest): Promise<WarehouseResult> => {
    const schema = await ensure(req.orgId)
    const { text, params } = bindParameters(req.statement, req.parameters)
    const timeout = Math.max(100, Math.floor(req.timeoutMs))
    try {
      if (databaseUrl) {
        const sql = poolFor(req.orgId)
        return await sql.begin(async (tx) => {
          await tx.unsafe(`set local statement_timeout = ${timeout}`)
          await tx.unsafe(`set local search_path = ${schema}`)
          // prepare: the extended protocol takes exactly one statement, even without parameters.
          const q = tx.unsafe(
            text,
            params as never[],
            { prepare: true, simple: false } as { prepare: boolean },
          )
          const onAbort = () => void q.cancel()
          req.signal?.addEventListener('abort', onAbort, { once: true })
          try {
            const rows = await q
            return {
              rows: [...rows] as Record<string, unknown>[],
              rowCount: rows.count ?? rows.length,
              command: rows.command,
            }
          } finally {
            req.signal?.removeEventListener('abort', onAbort)
          }
        })
      }
      assertUserSql(text)
      const { role } = warehouseNames(req.orgId, secretKey)
      return await db.transaction(async (tx) => {
        await tx.query(`set local role ${role}`)
        await tx.query(`set local search_path = ${schema}`)
        await tx.query(`set local statement_timeout = ${timeout}`)
        const rows = await tx.query<Record<string, unknown>>(text, params)
        return { rows, rowCount: rows.length, command: undefined }
      })
    } catch (err) {
      if (err instanceof RunFailure) throw err
      const e = err as { message?: string; code?: string }
      throw new RunFailure(`SQL error${e.code ? ` ${e.code}` : ''}: ${e.message ?? String(err)}`)
    }
  }

  const assertUserSql = (statement: string) => {
    if (!databaseUrl && (EMBEDDED_DENY.test(statement) || EMBEDDED_DENY.test(normalizeForCheck(statement)))) {
      throw new RunFailure(
        'this statement is not allowed on the warehouse (it changes roles, settings or reads files)',
      )
    }
  }

  const session = async <T>(
    orgId: string,
    opts: SessionOptions,
    fn: (s: WarehouseSession) => Promise<T>,
  ): Promise<T> => {
    const schema = await ensure(orgId)
    if (databaseUrl) return serverSession(poolFor(orgId), schema, opts, fn)
    return embeddedSession(db, warehouseNames(orgId, secretKey).role, schema, opts, fn)
  }

  return {
    ensure,
    execute,
    session,
    assertUserSql,
    async stop() {
      await Promise.all([...pools.values()].map((p) => p.end({ timeout: 2 })))
      pools.clear()
    },
  }
}

async function dropStages(tx: Queryable, schema: string) {
  const stages = await tx.query<{ tablename: string }>(
    `select tablename from pg_tables where schemaname = $1 and tablename like '\\_sy\\_%'`,
    [schema],
  )
  for (const t of stages)
    await tx.query(`drop table if exists ${schema}."${t.tablename.replace(/"/g, '""')}"`)
}
