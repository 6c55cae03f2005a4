import type { Database } from '../db/database'
import type { Column } from '../data/rows'
import { coerceError } from '../errors'
import type { Logger } from '../log'
import { legacySchema } from './names'
import type { Warehouse } from './warehouse'

const q = (n: string) => `"${n.replace(/"/g, '""')}"`

/** Rows per batch while copying a table out of the platform's database. */
const BATCH = 5000

/**
 * Moves the tables of the warehouse schemas (`wh_<org>`) that older versions
 * kept inside the platform's database into each organization's own warehouse,
 * then drops the schema and its role. Run at start, after the migrations:
 * moving rows across databases is not something SQL can do. Each table is
 * copied into a stage and renamed in one step, so a node that dies half-way
 * leaves the old table in place and the next start copies it again. Views are
 * not moved (their definitions are logged so they can be recreated).
 */
export async function moveLegacyWarehouses(db: Database, warehouse: Warehouse, log: Logger): Promise<number> {
  const pending = () =>
    db.query<{ nspname: string }>(
      "select nspname from pg_namespace where nspname ~ '^wh_[0-9a-f]{32}$' order by nspname",
    )
  // Nothing to move (every start but the first after the upgrade): no lock taken.
  if ((await pending()).length === 0) return 0
  // Nodes starting together move one at a time: the lock is held in the platform's database,
  // where no user statement runs, while the move works on other connections. PGlite has one
  // process, and one session that the lock's transaction would hold.
  if (db.driver === 'pglite') return moveAll(db, warehouse, log, await pending())
  return db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [LEGACY_MOVE_LOCK])
    return moveAll(db, warehouse, log, await pending())
  })
}

// Any constant shared by every node, distinct from the migration lock.
const LEGACY_MOVE_LOCK = 72_611_002

async function moveAll(
  db: Database,
  warehouse: Warehouse,
  log: Logger,
  schemas: { nspname: string }[],
): Promise<number> {
  let moved = 0
  for (const { nspname } of schemas) {
    const h = nspname.slice(3)
    const orgId = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
    const [org] = await db.query('select 1 from organizations where id = $1', [orgId])
    if (!org) {
      log.warn({ schema: nspname }, 'a legacy warehouse schema belongs to no organization; left in place')
      continue
    }
    await warehouse.ensure(orgId)
    const tables = await db.query<{ name: string }>(
      `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = $1 and c.relkind = 'r' and c.relname not like '\\_sy\\_%' order by c.relname`,
      [nspname],
    )
    for (const { name } of tables) {
      await moveTable(db, warehouse, orgId, nspname, name)
      moved++
    }
    const views = await db.query<{ viewname: string; definition: string }>(
      'select viewname, definition from pg_views where schemaname = $1',
      [nspname],
    )
    if (views.length > 0)
      log.warn({ schema: nspname, views }, 'legacy warehouse views were not moved; recreate them')
    const { role } = legacySchema(orgId)
    await db.query(`drop schema ${q(nspname)} cascade`)
    const [legacyRole] = await db.query('select 1 from pg_roles where rolname = $1', [role])
    if (legacyRole) {
      try {
        await db.query(`drop owned by ${q(role)}`)
        await db.query(`drop role ${q(role)}`)
      } catch (err) {
        // Roles are cluster-wide: one still owning something elsewhere is left for an operator.
        log.warn(
          { err: coerceError(err), role },
          'the legacy warehouse role could not be dropped; drop it by hand',
        )
      }
    }
    log.info({ orgId, tables: tables.length }, 'moved a legacy warehouse schema into its own warehouse')
  }
  return moved
}

async function moveTable(db: Database, warehouse: Warehouse, orgId: string, schema: string, table: string) {
  const columns = await db.query<Column>(
    `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type from pg_attribute a
     where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum`,
    [`${q(schema)}.${q(table)}`],
  )
  const stage = `_sy_move_${table}`.slice(0, 63)
  await warehouse.session(orgId, { timeoutMs: 3_600_000 }, async (s) => {
    const [there] = await s.query('select 1 from pg_tables where schemaname = $1 and tablename = $2', [
      s.schema,
      table,
    ])
    // Renamed by an earlier start that died before dropping the old table: nothing to copy.
    if (there) return
    await s.query(`drop table if exists ${q(stage)}`)
    await s.query(`create table ${q(stage)} (${columns.map((c) => `${q(c.name)} ${c.type}`).join(', ')})`)
    // Values as PostgreSQL prints them, in JSON text so both drivers hand back nulls as null.
    const select = `select json_build_array(${columns.map((c) => `${q(c.name)}::text`).join(', ')})::text as r from ${q(schema)}.${q(table)}`
    for (let offset = 0; ; offset += BATCH) {
      // ctid order: stable while nothing writes the old table, which nothing does any more.
      const rows = await db.query<{ r: string }>(`${select} order by ctid limit ${BATCH} offset ${offset}`)
      if (rows.length === 0) break
      await s.insertRows(
        stage,
        columns,
        rows.map((x) => JSON.parse(x.r) as (string | null)[]),
      )
      if (rows.length < BATCH) break
    }
    await s.atomic((tx) => tx.query(`alter table ${q(stage)} rename to ${q(table)}`))
  })
  await db.query(`drop table ${q(schema)}.${q(table)}`)
}
