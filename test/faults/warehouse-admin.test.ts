import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWarehouse } from '../../server/src/warehouse/warehouse'
import { type TestDatabase, testDatabase } from '../helpers/db'
import { createOrg } from '../helpers/fixtures'
import { TEST_SECRET_KEY } from '../helpers/server'
import { TEST_LIMITS } from '../helpers/warehouse'

// Needs a real server (roles and several databases), like the rest of faults/:
// warehouses created through SWITCHYARD_WAREHOUSE_URL by a role that is no
// superuser, only CREATEDB and CREATEROLE, as a managed PostgreSQL gives.
describe('warehouses created by a CREATEDB CREATEROLE role (SWITCHYARD_WAREHOUSE_URL)', () => {
  let tdb: TestDatabase
  let admin: postgres.Sql
  const role = `sy_wadmin_${randomBytes(4).toString('hex')}`
  const password = randomBytes(12).toString('hex')

  beforeAll(async () => {
    tdb = await testDatabase()
    admin = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} })
    await admin.unsafe(`create role ${role} login createdb createrole password '${password}'`)
  })
  afterAll(async () => {
    await tdb?.drop()
    await admin?.unsafe(`drop role if exists ${role}`)
    await admin?.end()
  })

  it('creates the database and role, which reach each other only', async () => {
    const url = new URL(process.env.DATABASE_URL!)
    url.username = role
    url.password = password
    url.pathname = '/postgres'
    const warehouse = createWarehouse({
      db: tdb.db,
      secretKey: Buffer.from(TEST_SECRET_KEY),
      serverUrl: url.toString(),
      dataDir: 'memory://',
      idleMs: 60_000,
      limits: TEST_LIMITS,
    })
    try {
      const orgId = (await createOrg(tdb.db)).id
      await warehouse.execute({
        orgId,
        statement: 'create table t (x int)',
        parameters: {},
        timeoutMs: 10_000,
      })
      const r = await warehouse.execute({
        orgId,
        statement: `select current_user as who, current_database() as db,
          has_database_privilege(current_user, current_database(), 'connect') as own`,
        parameters: {},
        timeoutMs: 10_000,
      })
      const row = r.rows[0] as { who: string; db: string; own: boolean }
      expect(row.who).toBe(row.db)
      expect(row.who).toMatch(/^sy_w_[0-9a-f]{24}$/)
      expect(row.own).toBe(true)
      // PUBLIC may not connect to the warehouse: no other role than its own (and superusers).
      const [pub] =
        await admin`select has_database_privilege('public', ${row.db}, 'connect') as public_connect`
      expect(pub!.public_connect).toBe(false)
    } finally {
      await warehouse.stop()
    }
  })
})
