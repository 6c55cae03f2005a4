import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seal } from '../../server/src/data/crypto'
import { type DataServices, createDataServices } from '../../server/src/data/services'
import type { Context } from '../../server/src/graphql/context'
import type { Scheduler } from '../../server/src/scheduler/scheduler'
import type { Warehouse } from '../../server/src/warehouse/warehouse'
import { testWarehouse } from '../helpers/warehouse'
import { type SourceDb, createSourceDb, sourceServerUp } from '../data/source-db'
import { type TestDatabase, testDatabase } from '../helpers/db'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { LOOPBACK_EGRESS, TEST_SECRET_KEY } from '../helpers/server'
import { createEgress, parseEgressAllow } from '../../server/src/egress'
import {
  T0,
  automation,
  contextFor,
  createManualClock,
  eventsOf,
  fakeScheduler,
  runsOf,
  trigger,
} from './helpers'

// With DATABASE_URL the suite must run; only a local PGlite run with no PostgreSQL server skips it.
const up = Boolean(process.env.DATABASE_URL) || (await sourceServerUp())

let tdb: TestDatabase
let org: TestOrg
let ctx: Context
let warehouse: Warehouse
let data: DataServices
let src: SourceDb
let s: Scheduler
const clock = createManualClock(T0)

/** A PostgreSQL datasource pointing at the source database, added by the admin, granted (USE) to `grantTo`. */
async function datasource(o: TestOrg, name: string, grantTo?: string): Promise<string> {
  const id = randomUUID()
  await tdb.db.query(
    `insert into datasources (id, org_id, name, type, description, config, secret, created_by)
     values ($1, $2, $3, 'POSTGRES', '', '{}'::jsonb, $4, $5)`,
    [id, o.id, name, seal(data.secretsKey, src.url, id), o.users.admin!.id],
  )
  if (grantTo) await grant(o, id, grantTo)
  return id
}

async function grant(o: TestOrg, datasourceId: string, userId: string) {
  await tdb.db.query(
    `insert into datasource_grants (org_id, datasource_id, user_id, permission) values ($1, $2, $3, 'USE')`,
    [o.id, datasourceId, userId],
  )
}

const passAfter = async (seconds: number) => {
  clock.advance(seconds * 1000)
  await s.pass()
}
const kinds = async (a: string) => (await eventsOf(tdb.db, a)).map((e) => e.kind)
const whSql = (statement: string) =>
  warehouse.execute({ orgId: org.id, statement, parameters: {}, timeoutMs: 10_000 })

describe.skipIf(!up)('polling triggers on PostgreSQL datasources, as the run-as user', () => {
  beforeAll(async () => {
    tdb = await testDatabase()
    org = await createOrg(tdb.db)
    ctx = contextFor(tdb.db, org)
    const secretKey = Buffer.from(TEST_SECRET_KEY)
    warehouse = testWarehouse(tdb)
    // The watched datasource is the local PostgreSQL.
    const egress = createEgress({
      allow: parseEgressAllow(LOOPBACK_EGRESS),
      maxHttpResponseBytes: 1 << 20,
      maxDownloadBytes: 1 << 20,
    })
    data = createDataServices({ db: tdb.db, warehouse, secretKey, egress })
    src = await createSourceDb()
    await src.sql.unsafe(`
      create table tickets (id int);
      create table orders (id int, updated_at timestamptz);
      insert into orders values (1, '2026-01-01T00:00:00Z'), (2, '2026-01-02T00:00:00Z');`)
    s = await fakeScheduler(tdb.db, clock, { warehouse, data })
  })
  afterAll(async () => {
    await warehouse?.stop()
    await src?.drop()
    await tdb?.drop()
  })

  it('SQL_CHANGE reads a datasource only once its run-as user is granted it, then fires on a change', async () => {
    const ds = await datasource(org, 'helpdesk')
    // Created by the editor, so it runs as the editor, who has no grant yet.
    const a = await automation(ctx, { name: 'on-tickets', kind: 'NOOP', config: {} })
    await trigger(
      ctx,
      a,
      {
        type: 'SQL_CHANGE',
        config: { datasource: ds, query: 'select count(*) from tickets', intervalSeconds: 10 },
      },
      clock.now(),
    )
    await passAfter(0)
    const [denied] = await eventsOf(tdb.db, a)
    expect(denied?.kind).toBe('ERROR')
    expect(denied?.message).toMatch(/"helpdesk" is not granted to the user/)
    await grant(org, ds, org.users.editor!.id)
    await passAfter(10)
    expect(await kinds(a)).toEqual(['ERROR', 'RECORDED'])
    await src.sql`insert into tickets values (1)`
    await passAfter(10)
    const runs = await runsOf(tdb.db, a)
    expect(runs.map((r) => r.trigger_source)).toEqual(['SQL_CHANGE'])
  })

  it('SQL_CHANGE on a datasource is read-only', async () => {
    const ds = await datasource(org, 'helpdesk-rw', org.users.editor!.id)
    const a = await automation(ctx, { name: 'writes-tickets', kind: 'NOOP', config: {} })
    const query = 'with w as (insert into tickets values (99) returning id) select count(*) from w'
    await trigger(
      ctx,
      a,
      { type: 'SQL_CHANGE', config: { datasource: ds, query, intervalSeconds: 10 } },
      clock.now(),
    )
    await passAfter(0)
    const events = await eventsOf(tdb.db, a)
    expect(events.map((e) => e.kind)).toEqual(['ERROR'])
    expect(events[0]!.message).toMatch(/read-only transaction/)
    expect(await src.sql`select 1 from tickets where id = 99`).toHaveLength(0)
  })

  it("reads as the organization's first admin when the run-as user was deleted", async () => {
    const other = await createOrg(tdb.db)
    const ds = await datasource(other, 'crm')
    const a = await automation(contextFor(tdb.db, other), { name: 'orphan', kind: 'NOOP', config: {} })
    await trigger(
      contextFor(tdb.db, other),
      a,
      {
        type: 'SQL_CHANGE',
        config: { datasource: ds, query: 'select count(*) from orders', intervalSeconds: 10 },
      },
      clock.now(),
    )
    await passAfter(0)
    expect(await kinds(a)).toEqual(['ERROR'])
    // The editor (the run-as user) leaves; the first admin, who manages the datasource, takes over.
    await tdb.db.query('update users set deleted_at = now() where id = $1', [other.users.editor!.id])
    await passAfter(10)
    expect(await kinds(a)).toEqual(['ERROR', 'RECORDED'])
  })

  it('DATASET_CHANGE watches a datasource table with the same fingerprint as a storage', async () => {
    const ds = await datasource(org, 'shop', org.users.editor!.id)
    await whSql('create table orders (id int, updated_at timestamptz)')
    await whSql(`insert into orders values (1, '2026-01-01T00:00:00Z'), (2, '2026-01-02T00:00:00Z')`)
    const onStorage = await automation(ctx, { name: 'orders-storage', kind: 'NOOP', config: {} })
    const onSource = await automation(ctx, { name: 'orders-source', kind: 'NOOP', config: {} })
    const watch = { column: 'updated_at', intervalSeconds: 10 }
    await trigger(
      ctx,
      onStorage,
      { type: 'DATASET_CHANGE', config: { table: 'orders', ...watch } },
      clock.now(),
    )
    await trigger(
      ctx,
      onSource,
      { type: 'DATASET_CHANGE', config: { datasource: ds, table: 'public.orders', ...watch } },
      clock.now(),
    )
    await passAfter(0)
    const baseline = async (a: string) => {
      const [e] = await eventsOf(tdb.db, a)
      expect(e?.kind).toBe('RECORDED')
      return e!.message.slice(e!.message.indexOf(': ') + 2)
    }
    expect(await baseline(onSource)).toBe(await baseline(onStorage))
    expect(await baseline(onSource)).toContain('"count":"2"')
    await src.sql`insert into orders values (3, '2026-01-03T00:00:00Z')`
    await passAfter(10)
    expect((await runsOf(tdb.db, onSource)).map((r) => r.trigger_source)).toEqual(['DATASET_CHANGE'])
    expect(await runsOf(tdb.db, onStorage)).toHaveLength(0)
  })

  it('DATASET_CHANGE with TABLE_STATS on a datasource; a missing table or an ungranted datasource is an ERROR', async () => {
    const ds = await datasource(org, 'stats', org.users.editor!.id)
    const locked = await datasource(org, 'locked')
    const cases = [
      { name: 'stats-ok', config: { datasource: ds, table: 'public.orders', fingerprint: 'TABLE_STATS' } },
      { name: 'stats-missing', config: { datasource: ds, table: 'nope', fingerprint: 'TABLE_STATS' } },
      { name: 'stats-locked', config: { datasource: locked, table: 'orders' } },
    ]
    const ids: string[] = []
    for (const c of cases) {
      const a = await automation(ctx, { name: c.name, kind: 'NOOP', config: {} })
      await trigger(
        ctx,
        a,
        { type: 'DATASET_CHANGE', config: { ...c.config, intervalSeconds: 10 } },
        clock.now(),
      )
      ids.push(a)
    }
    await passAfter(0)
    const [ok, missing, denied] = await Promise.all(ids.map((a) => eventsOf(tdb.db, a)))
    expect(ok!.map((e) => e.kind)).toEqual(['RECORDED'])
    expect(ok![0]!.message).toMatch(/"live":"\d+","ins":"\d+"/)
    expect(missing![0]!.message).toBe('table "nope" does not exist in the datasource')
    expect(denied![0]!.message).toMatch(/"locked" is not granted to the user/)
  })

  it('refuses a schema-qualified table on the warehouse at save', async () => {
    await expect(
      trigger(
        ctx,
        await automation(ctx, { name: 'escape', kind: 'NOOP', config: {} }),
        { type: 'DATASET_CHANGE', config: { table: 'public.users', intervalSeconds: 10 } },
        clock.now(),
      ),
    ).rejects.toThrow(/a warehouse storage is a plain name/)
  })
})
