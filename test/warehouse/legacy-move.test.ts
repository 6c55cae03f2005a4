import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../server/src/log'
import { moveLegacyWarehouses } from '../../server/src/warehouse/legacy'
import { legacySchema } from '../../server/src/warehouse/names'
import type { Warehouse } from '../../server/src/warehouse/warehouse'
import { type TestDatabase, testDatabase } from '../helpers/db'
import { createOrg } from '../helpers/fixtures'
import { testWarehouse } from '../helpers/warehouse'

/** An installation from before one database per organization keeps its storages. */
describe('legacy warehouse schemas move into the organizations’ own warehouses', () => {
  let tdb: TestDatabase
  let warehouse: Warehouse
  let orgId: string

  beforeAll(async () => {
    tdb = await testDatabase()
    warehouse = testWarehouse(tdb)
    orgId = (await createOrg(tdb.db)).id
    // What the previous version left: a schema in the platform's database with a table in it.
    const { schema } = legacySchema(orgId)
    await tdb.db.query(`create schema ${schema}`)
    await tdb.db.query(`create table ${schema}.sales (id int, region text, at timestamptz, tags text[])`)
    await tdb.db.query(
      `insert into ${schema}.sales select g, case when g % 2 = 0 then 'eu' end, '2026-01-01'::timestamptz + g * interval '1 day', array['a', 'b,c']
       from generate_series(1, 12001) g`,
    )
  })
  afterAll(async () => {
    await warehouse?.stop()
    await tdb?.drop()
  })

  it('moves every row, keeps types and nulls, and drops the old schema', async () => {
    const moved = await moveLegacyWarehouses(tdb.db, warehouse, createLogger('silent'))
    expect(moved).toBe(1)
    const r = await warehouse.execute({
      orgId,
      statement: `select count(*)::int as n, count(region)::int as regions, max(at)::text as last,
                  min(tags::text) as tags, pg_typeof(at)::text as type from sales group by pg_typeof(at)`,
      parameters: {},
      timeoutMs: 30_000,
    })
    expect(r.rows[0]).toMatchObject({
      n: 12001,
      regions: 6000,
      tags: '{a,"b,c"}',
      type: 'timestamp with time zone',
    })
    const left = await tdb.db.query("select 1 from pg_namespace where nspname like 'wh\\_%'")
    expect(left).toHaveLength(0)
    // A second start finds nothing to move.
    expect(await moveLegacyWarehouses(tdb.db, warehouse, createLogger('silent'))).toBe(0)
  })
})
