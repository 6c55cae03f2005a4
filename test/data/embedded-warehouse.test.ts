import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Database, openDatabase } from '../../server/src/db/database'
import { migrate } from '../../server/src/db/migrate'
import { type Warehouse, createWarehouse } from '../../server/src/warehouse/warehouse'
import { createOrg } from '../helpers/fixtures'
import { TEST_SECRET_KEY } from '../helpers/server'
import { TEST_LIMITS } from '../helpers/warehouse'

// The embedded default gives every organization a PGlite of its own in a worker
// thread: user SQL never runs in the platform's session. This suite always runs
// on PGlite, in CI too, because that is the mode it is about.
describe('embedded warehouse: user SQL runs in a database of its own', () => {
  let db: Database
  let warehouse: Warehouse
  let orgId: string
  let schema: string

  beforeAll(async () => {
    db = await openDatabase({ dataDir: 'memory://' })
    await migrate(db)
    warehouse = createWarehouse({
      db,
      secretKey: Buffer.from(TEST_SECRET_KEY),
      serverUrl: undefined,
      dataDir: 'memory://',
      idleMs: 60_000,
      limits: TEST_LIMITS,
    })
    orgId = (await createOrg(db)).id
    schema = await warehouse.ensure(orgId)
  })
  afterAll(async () => {
    await warehouse.stop()
    await db.close()
  })

  const run = (statement: string, timeoutMs = 5_000) =>
    warehouse.execute({ orgId, statement, parameters: {}, timeoutMs })
  const platformUsers = async () =>
    (await db.query<{ n: number }>('select count(*)::int as n from users'))[0]!.n

  it('runs ordinary statements', async () => {
    await run('create table sales (id int, region text)')
    await run("insert into sales values (1, 'eu'), (2, 'us')")
    const r = await run('select count(*)::int as n from sales')
    expect(r.rows[0]).toMatchObject({ n: 2 })
  })

  it('a search_path set by user SQL never reaches the platform’s queries', async () => {
    const before = await platformUsers()
    expect(before).toBeGreaterThan(0)
    // The takeover: shadow the platform's tables, then point the (formerly shared) session at them.
    await run('create table users (id uuid, email text)')
    await run('create table sessions (token_hash text, user_id uuid)')
    await run(`set search_path = ${schema}, public`)
    expect(await platformUsers()).toBe(before)
    const [path] = await db.query<{ search_path: string }>('show search_path')
    expect(path!.search_path).not.toContain(schema === 'public' ? 'wh_' : schema)
    // And the platform's tables do not exist where user SQL runs.
    const seen = await run(
      "select count(*)::int as n from pg_tables where tablename in ('runs', 'automations')",
    )
    expect(seen.rows[0]).toMatchObject({ n: 0 })
  })

  it('`set /* /* */ */ role postgres` does nothing harmful', async () => {
    await run('set /* /* */ */ role postgres').catch(() => {})
    await expect(run('select count(*) from automations')).rejects.toThrow(/does not exist/)
    const [who] = await db.query<{ u: string }>('select current_user as u')
    expect(who!.u).toBe('postgres')
    expect(await platformUsers()).toBeGreaterThan(0)
  })

  it('DO blocks and functions run, but only ever see the organization’s own tables', async () => {
    await run(
      "do $$ begin execute 'rese'||'t role'; execute 'create table copied as select * from pg_tables'; end $$",
    )
    const r = await run(
      "select count(*)::int as n from copied where tablename in ('users', 'runs', 'organizations')",
    )
    // Only the shadow table this suite made itself.
    expect(r.rows[0]).toMatchObject({ n: 1 })
    expect(await db.query("select 1 from pg_tables where tablename = 'copied'")).toHaveLength(0)
  })

  it('a statement past its timeout is stopped without blocking the event loop, and the warehouse reopens', async () => {
    let ticks = 0
    const timer = setInterval(() => ticks++, 50)
    const started = Date.now()
    try {
      await expect(run('select pg_sleep(20)', 1_000)).rejects.toThrow(/timeout of 1000 ms/)
    } finally {
      clearInterval(timer)
    }
    const took = Date.now() - started
    expect(took).toBeLessThan(8_000)
    // The event loop kept turning while the statement ran.
    expect(ticks).toBeGreaterThan(took / 50 / 4)
    // An in-memory warehouse restarts empty; on disk it recovers its tables.
    const r = await run('select 1 as one')
    expect(r.rows).toEqual([{ one: 1 }])
  })
})
