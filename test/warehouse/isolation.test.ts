import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrate } from '../../server/src/db/migrate'
import type { Warehouse } from '../../server/src/warehouse/warehouse'
import { type TestDatabase, testDatabase } from '../helpers/db'
import { createOrg } from '../helpers/fixtures'
import { testWarehouse } from '../helpers/warehouse'

/**
 * What tenant SQL could do to the platform and to other organizations while
 * warehouses lived inside the platform's database (issue 11), on either
 * driver: on PostgreSQL each warehouse is a database of its own reached
 * through its own role, on PGlite an instance of its own.
 */
describe('a warehouse reaches nothing of the platform or of another organization', () => {
  let tdb: TestDatabase
  let warehouse: Warehouse
  let a: string
  let b: string

  beforeAll(async () => {
    tdb = await testDatabase()
    warehouse = testWarehouse(tdb)
    a = (await createOrg(tdb.db)).id
    b = (await createOrg(tdb.db)).id
    await warehouse.execute({
      orgId: a,
      statement: 'create table a_orders (id int)',
      parameters: {},
      timeoutMs: 10_000,
    })
    await warehouse.execute({
      orgId: b,
      statement: 'create view b_secret_view as select 42 as answer',
      parameters: {},
      timeoutMs: 10_000,
    })
  })
  afterAll(async () => {
    await warehouse?.stop()
    await tdb?.drop()
  })

  const runA = async (statement: string) =>
    (await warehouse.execute({ orgId: a, statement, parameters: {}, timeoutMs: 10_000 })).rows

  it('a forged sy_cancel / sy_log notification reaches no platform listener', async () => {
    const heard: string[] = []
    const stops = await Promise.all(
      ['sy_cancel', 'sy_log'].map((channel) => tdb.db.listen(channel, (p) => heard.push(`${channel}:${p}`))),
    )
    try {
      await runA(
        `select pg_notify('sy_cancel', '{"runId":"1"}'), pg_notify('sy_log', '{"runId":"1","message":"forged"}')`,
      )
      await new Promise((r) => setTimeout(r, 500))
      expect(heard).toEqual([])
      // The listener works: the platform's own notification arrives.
      await tdb.db.query(`select pg_notify('sy_log', 'platform')`)
      const deadline = Date.now() + 5_000
      while (heard.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      expect(heard).toEqual(['sy_log:platform'])
    } finally {
      for (const stop of stops) await stop()
    }
  })

  it('holding the migration advisory lock from tenant SQL does not block a node’s migration', async () => {
    let release: () => void = () => {}
    const gate = new Promise<void>((r) => {
      release = r
    })
    let held: () => void = () => {}
    const holding = new Promise<void>((r) => {
      held = r
    })
    const tenant = warehouse.session(a, { timeoutMs: 30_000 }, (s) =>
      s.atomic(async (q) => {
        await q.query('select pg_advisory_xact_lock(72611001)')
        held()
        await gate
      }),
    )
    await holding
    try {
      const started = Date.now()
      await migrate(tdb.db)
      expect(Date.now() - started).toBeLessThan(10_000)
    } finally {
      release()
      await tenant
    }
  })

  it('catalog queries list no other organization, its tables, nor the platform’s tables', async () => {
    const catalogs = await Promise.all(
      [
        'select rolname from pg_roles',
        'select datname from pg_database',
        'select table_schema, table_name from information_schema.tables',
        'select schemaname, viewname, definition from pg_views',
      ].map(runA),
    )
    const text = JSON.stringify(catalogs).toLowerCase()
    // The catalog is read for real: the organization's own table is listed.
    expect(text).toContain('a_orders')
    for (const id of [a, b]) {
      expect(text).not.toContain(id)
      expect(text).not.toContain(id.replace(/-/g, ''))
    }
    for (const name of [
      'b_secret_view',
      'automations',
      'run_events',
      'storage_meta',
      'switchyard_migrations',
      'warehouses',
    ])
      expect(text).not.toContain(`"${name}"`)
  })
})
