import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { LOOPBACK_EGRESS, type TestServer, startTestServer } from '../helpers/server'
import { type SourceDb, createSourceDb, sourceServerUp } from '../data/source-db'

// The whole server (api, worker, scheduler) with a SQL_CHANGE trigger on a
// PostgreSQL datasource: the scheduler of a real node must reach datasources.
const up = Boolean(process.env.DATABASE_URL) || (await sourceServerUp())

describe.skipIf(!up)('a SQL_CHANGE trigger on a PostgreSQL datasource, in a running server', () => {
  let s: TestServer
  let org: TestOrg
  let admin: string
  let src: SourceDb

  beforeAll(async () => {
    s = await startTestServer({
      env: { SWITCHYARD_TRIGGER_MIN_INTERVAL_SECONDS: '1', SWITCHYARD_EGRESS_ALLOW: LOOPBACK_EGRESS },
    })
    org = await createOrg(s.db)
    admin = await s.login(org.users.admin!.email, org.users.admin!.password)
    src = await createSourceDb()
    await src.sql`create table items (id int)`
  })
  afterAll(async () => {
    await s?.stop()
    await src?.drop()
  })

  it('fires once the query result changes, and not before', async () => {
    const ds = await s.gql<{ createPostgresDatasource: { datasource?: { id: string }; message?: string } }>(
      `mutation($i: CreatePostgresDatasourceInput!) { createPostgresDatasource(input: $i) {
        ... on CreatePostgresDatasourceSuccess { datasource { id } } ... on Error { message } } }`,
      { i: { name: 'inventory', connectionString: src.url } },
      { token: admin },
    )
    const dsId = ds.data!.createPostgresDatasource.datasource!.id
    const a = await createAutomation(s, admin, { name: 'on items', kind: 'NOOP', config: {} })
    const t = await s.gql<{ createTrigger: { __typename: string } }>(
      `mutation($a: ID!, $i: TriggerInput!) { createTrigger(automationId: $a, input: $i) { __typename } }`,
      {
        a,
        i: {
          type: 'SQL_CHANGE',
          config: { datasource: dsId, query: 'select count(*) from items', intervalSeconds: 1 },
        },
      },
      { token: admin },
    )
    expect(t.data!.createTrigger.__typename).toBe('TriggerPayload')
    const runs = async () =>
      (
        await s.gql<{ runs: { edges: { node: { triggerSource: string } }[] } }>(
          'query($a: ID!) { runs(automationId: $a, first: 10) { edges { node { triggerSource } } } }',
          { a },
          { token: admin },
        )
      ).data!.runs.edges.map((e) => e.node.triggerSource)
    const evaluated = async () =>
      (
        await s.gql<{ automation: { triggers: { lastEvaluatedAt: string | null }[] } }>(
          'query($a: ID!) { automation(id: $a) { triggers { lastEvaluatedAt } } }',
          { a },
          { token: admin },
        )
      ).data!.automation.triggers[0]!.lastEvaluatedAt
    // The first evaluation only records the result.
    await expect.poll(evaluated, { timeout: 20_000, interval: 200 }).not.toBeNull()
    expect(await runs()).toEqual([])
    await src.sql`insert into items values (1), (2)`
    await expect.poll(runs, { timeout: 20_000, interval: 200 }).toEqual(['SQL_CHANGE'])
  })
})
