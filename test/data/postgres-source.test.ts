// biome-ignore-all lint/suspicious/noTemplateCurlyInString: SQL and configs here hold Switchyard ${variables} on purpose
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type DataFixture, dataFixture } from './helpers'
import { type SourceDb, createSourceDb, sourceServerUp } from './source-db'

// With DATABASE_URL (always in CI) the suite must run, so an unreachable server fails it
// loudly; only a local PGlite run without any PostgreSQL server leaves it out.
const up = Boolean(process.env.DATABASE_URL) || (await sourceServerUp())
let f: DataFixture
let src: SourceDb
let dsId: string

const CREATE = `mutation($i: CreatePostgresDatasourceInput!) { createPostgresDatasource(input: $i) {
  __typename ... on CreatePostgresDatasourceSuccess { datasource { id name type connection { host port database user } } }
  ... on Error { message } } }`
const TEST = `mutation($id: ID, $c: String) { testDatasource(id: $id, connectionString: $c) {
  __typename ... on TestDatasourceSuccess { result { ok message serverVersion } } ... on Error { message } } }`

describe.skipIf(!up)('PostgreSQL datasources', () => {
  beforeAll(async () => {
    f = await dataFixture()
    src = await createSourceDb()
    await src.sql.unsafe(`
      create type mood as enum ('happy', 'sad');
      create table customers (id bigint primary key, name text, balance numeric(12,2), joined date,
        seen timestamptz, active boolean, tags text[], meta jsonb, feeling mood, photo bytea);
      insert into customers select g, 'name ' || g || E'\\ttab', g * 1.25, date '2024-01-01' + g,
        timestamptz '2024-01-01 12:00:00+00' + g * interval '1 hour', g % 2 = 0, array['a', 'b'],
        jsonb_build_object('n', g), 'happy', '\\xdeadbeef' from generate_series(1, 1200) g;
      insert into customers (id) values (0);`)
    const r = await f.gql<{ createPostgresDatasource: { datasource: { id: string } } }>(
      CREATE,
      { i: { name: 'crm', connectionString: src.url } },
      f.admin,
    )
    dsId = r.createPostgresDatasource.datasource.id
  })
  afterAll(async () => {
    await f?.stop()
    await src?.drop()
  })

  it('keeps the connection string sealed and only admins add connections', async () => {
    const denied = await f.gql<{ createPostgresDatasource: { __typename: string } }>(CREATE, {
      i: { name: 'x', connectionString: src.url },
    })
    expect(denied.createPostgresDatasource.__typename).toBe('ForbiddenError')
    const bad = await f.gql<{ createPostgresDatasource: { __typename: string } }>(
      CREATE,
      { i: { name: 'x', connectionString: 'mysql://nope' } },
      f.admin,
    )
    expect(bad.createPostgresDatasource.__typename).toBe('ValidationError')
    const [row] = await f.s.db.query<{ secret: string; config: Record<string, unknown> }>(
      'select secret, config from datasources where id = $1',
      [dsId],
    )
    expect(row!.secret).toMatch(/^v1\./)
    expect(row!.secret).not.toContain('127.0.0.1')
    expect(row!.config).toMatchObject({ host: '127.0.0.1', port: 5432 })
  })

  it('tests a connection', async () => {
    const ok = await f.gql<{ testDatasource: { result: { ok: boolean; serverVersion: string } } }>(
      TEST,
      { id: dsId },
      f.admin,
    )
    expect(ok.testDatasource.result.ok).toBe(true)
    expect(ok.testDatasource.result.serverVersion).toMatch(/^\d+/)
    const down = await f.gql<{ testDatasource: { result: { ok: boolean; message: string } } }>(
      TEST,
      { c: 'postgres://postgres@127.0.0.1:1/nope' },
      f.admin,
    )
    expect(down.testDatasource.result).toMatchObject({ ok: false })
    expect(down.testDatasource.result.message).toMatch(/connection refused/)
  })

  it('reads only with the run-as user’s grants', async () => {
    const list = await f.gql<{ datasources: { id: string }[] }>('{ datasources { id type } }')
    expect(list.datasources.map((d) => d.id)).toEqual(['warehouse'])
    const denied = await f.run('SYNC_SOURCE', {
      source: { datasource: dsId, table: 'customers' },
      target: { storage: 'customers' },
    })
    expect(denied.state).toBe('FAILED')
    expect(denied.error).toMatch(/"crm" is not granted to the user this run runs as/)
    const g = await f.gql<{ grantDatasource: { __typename: string } }>(
      `mutation($i: DatasourceGrantInput!) { grantDatasource(input: $i) { __typename } }`,
      { i: { datasourceId: dsId, userId: f.org.users.editor!.id, permission: 'USE' } },
      f.admin,
    )
    expect(g.grantDatasource.__typename).toBe('GrantDatasourceSuccess')
  })

  it('syncs a whole table, streaming, with its types', async () => {
    const run = await f.run('SYNC_SOURCE', {
      source: { datasource: dsId, table: 'public.customers' },
      target: { storage: 'customers' },
    })
    expect(run.error).toBeNull()
    expect(run.outputs).toMatchObject({ rowsLoaded: 1201, rowCount: 1201 })
    const d = await f.gql<{ storage: { columns: { name: string; type: string }[] } }>(
      '{ storage(name: "customers") { columns { name type } } }',
    )
    expect(d.storage.columns.map((c) => c.type)).toEqual([
      'bigint',
      'text',
      'numeric',
      'date',
      'timestamp with time zone',
      'boolean',
      'text[]',
      'jsonb',
      'text',
      'bytea',
    ])
    const r = await f.sql(
      `select name, balance::text, joined::text, seen = timestamptz '2024-01-01 14:00:00+00' as seen, active, tags, meta->>'n' as n, feeling, encode(photo, 'hex') as photo from customers where id = 2`,
    )
    expect((r.outputs as { rows: unknown[] }).rows).toEqual([
      {
        name: 'name 2\ttab',
        balance: '2.50',
        joined: '2024-01-03',
        seen: true,
        active: true,
        tags: ['a', 'b'],
        n: '2',
        feeling: 'happy',
        photo: 'deadbeef',
      },
    ])
  })

  it('runs a parameterised query on the datasource', async () => {
    const run = await f.run(
      'SQL_TO_STORAGE',
      {
        source: { datasource: dsId, query: 'select id, name from customers where id > ${min} order by id' },
        target: { storage: 'recent' },
      },
      { parameters: [{ name: 'min', type: 'NUMBER', default: 1190 }] },
    )
    expect(run.outputs).toMatchObject({ rowsLoaded: 10 })
    const broken = await f.run('SQL_TO_STORAGE', {
      source: { datasource: dsId, query: 'select nope from customers' },
      target: { storage: 'recent' },
    })
    expect(broken.error).toMatch(/SQL error on datasource "crm" 42703/)
    const still = await f.sql('select count(*)::int as n from recent')
    expect((still.outputs as { rows: unknown[] }).rows).toEqual([{ n: 10 }])
  })

  it('computes metrics and runs checks on a datasource table', async () => {
    const run = await f.run('COMPUTE_METRICS', {
      target: { datasource: dsId, table: 'public.customers' },
      metrics: [
        { type: 'ROW_COUNT' },
        { type: 'MAX', column: 'seen' },
        { type: 'NULL_COUNT', column: 'name' },
      ],
    })
    expect(run.error).toBeNull()
    expect(run.outputs).toMatchObject({
      metrics: { row_count: 1201, max_seen: Date.parse('2024-02-20T12:00:00Z') / 1000, null_count_name: 1 },
    })
    const checks = await f.run(
      'RUN_CHECKS',
      {
        checks: [
          {
            name: 'rows',
            metric: { datasource: dsId, table: 'public.customers', name: 'row_count' },
            rule: { type: 'MIN', min: 1000 },
          },
          {
            name: 'no_orphans',
            sql: {
              datasource: dsId,
              query: 'select count(*) = 0 from customers where name is null and id > ${min}',
            },
            rule: { type: 'OUTCOME' },
          },
        ],
      },
      { parameters: [{ name: 'min', type: 'NUMBER', default: 0 }] },
    )
    expect(checks.state).toBe('SUCCEEDED')
    expect((checks.outputs as { summary: unknown }).summary).toEqual({ OK: 2, WARNING: 0, ERROR: 0 })

    // The stored metric values are the table's data: a run as a user without the grant cannot read them.
    const ungrantedId = await createAutomation(f.s, f.admin, {
      name: 'checks as viewer',
      kind: 'RUN_CHECKS',
      runAsUserId: f.org.users.viewer!.id,
      // A manual run uses the caller's grants unless every user may run it: then it runs as the run-as user.
      allowAllUsersToRun: true,
      config: {
        checks: [
          {
            name: 'rows',
            metric: { datasource: dsId, table: 'public.customers', name: 'row_count' },
            rule: { type: 'MIN', min: 1000 },
          },
        ],
      },
    })
    const ungranted = await waitForRun(f.s, f.admin, await runAutomation(f.s, f.admin, ungrantedId))
    expect(ungranted.state).toBe('FAILED')
    const out = ungranted.outputs as { checks: { outcome: string; message: string; value: unknown }[] }
    expect(out.checks[0]).toMatchObject({ outcome: 'ERROR', value: null })
    expect(out.checks[0]!.message).toMatch(/not granted to the user this run runs as/)
  })

  it('fails clearly on an unreachable datasource, retried per policy', async () => {
    const r = await f.gql<{ createPostgresDatasource: { datasource: { id: string } } }>(
      CREATE,
      { i: { name: 'down', connectionString: 'postgres://postgres:secret@127.0.0.1:1/gone' } },
      f.admin,
    )
    const id = r.createPostgresDatasource.datasource.id
    await f.gql(
      `mutation($i: DatasourceGrantInput!) { grantDatasource(input: $i) { __typename } }`,
      {
        i: { datasourceId: id, role: 'EDITOR', permission: 'USE' },
      },
      f.admin,
    )
    const run = await f.run(
      'SYNC_SOURCE',
      { source: { datasource: id, table: 't' }, target: { storage: 'never' } },
      { retry: { maxAttempts: 2, backoffMs: 10 } },
    )
    expect(run.state).toBe('FAILED')
    expect(run.attempt).toBe(2)
    expect(run.error).toBe(
      'could not connect to datasource "down" (127.0.0.1:1/gone): connection refused (is the server running and the port right?)',
    )
    expect(run.error).not.toContain('secret')
  })
})
