import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Warehouse } from '../../server/src/warehouse/warehouse'
import { type TestDatabase, testDatabase } from '../helpers/db'
import { createOrg } from '../helpers/fixtures'
import { testWarehouse } from '../helpers/warehouse'

/**
 * Two nodes meeting an organization for the first time create its warehouse at once. Every
 * step of the creation, inside the new database too, must run under the lock that serialises
 * them: two concurrent `alter schema public owner` failed one of them with PostgreSQL's
 * "tuple concurrently updated" (seen as a failed run in a CI run of faults/connections).
 */
describe('warehouse creation on two nodes at once', () => {
  let tdb: TestDatabase
  let nodes: Warehouse[]

  beforeAll(async () => {
    tdb = await testDatabase()
    nodes = [testWarehouse(tdb), testWarehouse(tdb), testWarehouse(tdb)]
  })
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()))
    await tdb.drop()
  })

  it('succeeds on every node, for each of several new organizations', async () => {
    for (let i = 0; i < 10; i++) {
      const org = (await createOrg(tdb.db)).id
      const made = await Promise.allSettled(nodes.map((n) => n.ensure(org)))
      expect(made.filter((m) => m.status === 'rejected')).toEqual([])
      // Each node then reaches it as the organization's role.
      for (const n of nodes) {
        const r = await n.execute({
          orgId: org,
          statement: 'select current_user as who',
          parameters: {},
          timeoutMs: 10_000,
        })
        expect(String(r.rows[0]!.who)).toMatch(/^sy_w_[0-9a-f]{24}$/)
      }
    }
  })
})
