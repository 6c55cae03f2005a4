import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Database, openDatabase } from '../../server/src/db/database'
import { migrate } from '../../server/src/db/migrate'
import { type Warehouse, createWarehouse } from '../../server/src/warehouse/warehouse'
import { createOrg } from '../helpers/fixtures'
import { TEST_SECRET_KEY } from '../helpers/server'

// The embedded default (PGlite) shares one superuser session between the platform
// and user SQL, held apart only by SET ROLE. This suite always runs on PGlite, in
// CI too, because that separation cannot be tested on a real server.
describe('embedded warehouse: user SQL cannot leave its role', () => {
  let db: Database
  let warehouse: Warehouse
  let orgId: string

  beforeAll(async () => {
    db = await openDatabase({ dataDir: 'memory://' })
    await migrate(db)
    warehouse = createWarehouse({ db, secretKey: Buffer.from(TEST_SECRET_KEY), databaseUrl: undefined })
    orgId = (await createOrg(db)).id
    await warehouse.ensure(orgId)
  })
  afterAll(async () => {
    await warehouse.stop()
    await db.close()
  })

  const run = (statement: string) => warehouse.execute({ orgId, statement, parameters: {}, timeoutMs: 5_000 })

  it('still runs ordinary statements as the organization role', async () => {
    await run('create table sales (id int, region text)')
    await run("insert into sales values (1, 'eu'), (2, 'us')")
    const r = await run('select count(*)::int as n, current_user as who from sales')
    expect(r.rows[0]).toMatchObject({ n: 2 })
    expect(String(r.rows[0]!.who)).toMatch(/^sy_wh_/)
  })

  const escapes: [string, string][] = [
    [
      'dynamic SQL in a DO block, assembled so no word matches',
      "do $$ begin execute 'rese'||'t role'; execute 'create table stolen as select * from public.users'; end $$",
    ],
    [
      'a SQL function whose body hides RESET ROLE in an escape string',
      "create function f() returns void language sql as E'rese\\x74 role'",
    ],
    ['a quoted GUC name', `set "role" = 'postgres'`],
    ['a comment between the words', 'set/**/role postgres'],
    ['RESET ALL', 'reset all'],
    ['DISCARD ALL', 'discard all'],
    [
      'set_config behind query_to_xml',
      "select query_to_xml('select set_con'||'fig(''role'',''postgres'',false)', true, false, '')",
    ],
    ['session authorization', 'set session authorization postgres'],
  ]

  for (const [what, statement] of escapes) {
    it(`refuses ${what}`, async () => {
      await expect(run(statement)).rejects.toThrow(/not allowed|permission denied/)
      // Whatever it tried, the platform tables stay out of reach and nothing was copied.
      await expect(run('select count(*) from public.users')).rejects.toThrow(/permission denied/)
      const copied = await db.query(
        "select 1 from pg_tables where tablename = 'stolen' union all select 1 from pg_proc where proname = 'f'",
      )
      expect(copied).toHaveLength(0)
    })
  }

  it('leaves the platform its own privileges', async () => {
    // The revokes bind PUBLIC only; the superuser platform still has DO blocks and set_config.
    await db.query("do $$ begin perform set_config('application_name', 'switchyard', true); end $$")
    const [row] = await db.query<{ n: number }>('select count(*)::int as n from users')
    expect(row!.n).toBeGreaterThan(0)
  })
})
