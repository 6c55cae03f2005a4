// biome-ignore-all lint/suspicious/noTemplateCurlyInString: queries here hold Switchyard ${variables} on purpose
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DataFixture, dataFixture } from './helpers'
import { type SourceDb, createSourceDb, sourceServerUp } from './source-db'

// With DATABASE_URL (always in CI) the suite must run, so an unreachable server fails it
// loudly; only a local PGlite run without any PostgreSQL server leaves it out.
const up = Boolean(process.env.DATABASE_URL) || (await sourceServerUp())
let f: DataFixture
let src: SourceDb
let dsId: string

const CATALOG = `query($id: ID!, $schema: String) { datasourceCatalog(datasourceId: $id, schema: $schema) {
  __typename ... on DatasourceCatalogSuccess { catalog { schemas truncated
    tables { schema name kind ref columns { name type nullable } } } }
  ... on Error { message } ... on ValidationError { issues { path message } } } }`
const PREVIEW = `query($id: ID!, $q: String!, $p: JSON) { previewQuery(datasourceId: $id, query: $q, parameters: $p) {
  __typename ... on PreviewQuerySuccess { preview { columns rows hasMore omittedRows } }
  ... on Error { message } ... on ValidationError { issues { path message } } } }`

interface Table {
  schema: string
  name: string
  kind: string
  ref: string
  columns: { name: string; type: string; nullable: boolean }[]
}
type Answer<T> = { __typename: string; message?: string; issues?: { path: string; message: string }[] } & T
type CatalogAnswer = Answer<{ catalog?: { schemas: string[]; truncated: boolean; tables: Table[] } }>
type PreviewAnswer = Answer<{
  preview?: { columns: string[]; rows: unknown[][]; hasMore: boolean; omittedRows: number }
}>

const catalog = async (token: string, id: string, schema?: string) =>
  (await f.gql<{ datasourceCatalog: CatalogAnswer }>(CATALOG, { id, schema }, token)).datasourceCatalog
const preview = async (token: string, id: string, q: string, p?: Record<string, unknown>) =>
  (await f.gql<{ previewQuery: PreviewAnswer }>(PREVIEW, { id, q, p }, token)).previewQuery

describe.skipIf(!up)('datasource catalog and query preview', () => {
  beforeAll(async () => {
    f = await dataFixture()
    src = await createSourceDb()
    await src.sql.unsafe(`
      create schema sales;
      create table sales.orders (id bigint primary key, customer text not null, amount numeric(10,2), day date);
      insert into sales.orders select g, 'c' || (g % 7), g * 1.5, date '2026-01-01' + g % 30 from generate_series(1, 500) g;
      create view sales.big_orders as select * from sales.orders where amount > 100;
      create table public.notes (body text);
      create sequence public.counter;`)
    const r = await f.gql<{ createPostgresDatasource: { datasource: { id: string } } }>(
      `mutation($i: CreatePostgresDatasourceInput!) { createPostgresDatasource(input: $i) {
        ... on CreatePostgresDatasourceSuccess { datasource { id } } } }`,
      { i: { name: 'shop', connectionString: src.url } },
      f.admin,
    )
    dsId = r.createPostgresDatasource.datasource.id
    await f.sql('create table daily (day date, total integer not null)')
    await f.sql('insert into daily values (current_date, 5)')
  })
  afterAll(async () => {
    await f?.stop()
    await src?.drop()
  })

  it('refuses a user the datasource is not granted to, as running would', async () => {
    const c = await catalog(f.editor, dsId)
    expect(c.__typename).toBe('NotFoundError')
    const p = await preview(f.editor, dsId, 'select 1')
    expect(p.__typename).toBe('NotFoundError')
    // Previews run SQL: viewers may browse what is granted to them, not query it.
    expect((await preview(f.viewer, 'warehouse', 'select 1')).__typename).toBe('ForbiddenError')
    const g = await f.gql<{ grantDatasource: { __typename: string } }>(
      'mutation($i: DatasourceGrantInput!) { grantDatasource(input: $i) { __typename } }',
      { i: { datasourceId: dsId, userId: f.org.users.editor!.id, permission: 'USE' } },
      f.admin,
    )
    expect(g.grantDatasource.__typename).toBe('GrantDatasourceSuccess')
    expect((await catalog(f.editor, dsId)).__typename).toBe('DatasourceCatalogSuccess')
  })

  it('lists the schemas, tables and columns of a PostgreSQL datasource', async () => {
    const c = (await catalog(f.editor, dsId)).catalog!
    expect(c.schemas).toEqual(expect.arrayContaining(['public', 'sales']))
    expect(c.schemas.some((s) => s.startsWith('pg_') || s === 'information_schema')).toBe(false)
    expect(c.truncated).toBe(false)
    const orders = c.tables.find((t) => t.ref === 'sales.orders')
    expect(orders).toMatchObject({ schema: 'sales', name: 'orders', kind: 'TABLE' })
    expect(orders!.columns).toEqual([
      { name: 'id', type: 'bigint', nullable: false },
      { name: 'customer', type: 'text', nullable: false },
      { name: 'amount', type: 'numeric(10,2)', nullable: true },
      { name: 'day', type: 'date', nullable: true },
    ])
    expect(c.tables.find((t) => t.ref === 'sales.big_orders')?.kind).toBe('VIEW')
    // Public tables come first, so the usual ones are at the top of a picker.
    expect(c.tables[0]!.schema).toBe('public')
    const only = (await catalog(f.editor, dsId, 'sales')).catalog!
    expect(only.tables.map((t) => t.ref).sort()).toEqual(['sales.big_orders', 'sales.orders'])
  })

  it('lists the warehouse storages as its catalog', async () => {
    const c = (await catalog(f.viewer, 'warehouse')).catalog!
    expect(c.schemas).toEqual(['public'])
    expect(c.tables).toContainEqual({
      schema: 'public',
      name: 'daily',
      kind: 'TABLE',
      ref: 'daily',
      columns: [
        { name: 'day', type: 'date', nullable: true },
        { name: 'total', type: 'integer', nullable: false },
      ],
    })
  })

  it('previews 20 rows of a query, variables bound, columns in order even without rows', async () => {
    const p = (
      await preview(
        f.editor,
        dsId,
        'select id, customer, amount from sales.orders where id > ${from} order by id;',
        { from: 100 },
      )
    ).preview!
    expect(p.columns).toEqual(['id', 'customer', 'amount'])
    expect(p.rows).toHaveLength(20)
    expect(p.rows[0]).toEqual([101, 'c3', 151.5])
    expect(p.hasMore).toBe(true)
    const none = (await preview(f.editor, dsId, 'select id, day from sales.orders where false')).preview!
    expect(none).toEqual({ columns: ['id', 'day'], rows: [], hasMore: false, omittedRows: 0 })
    const w = (await preview(f.editor, 'warehouse', 'select total from daily')).preview!
    expect(w).toEqual({ columns: ['total'], rows: [[5]], hasMore: false, omittedRows: 0 })
  })

  it('is read-only, bounded and says what is wrong beside the field', async () => {
    for (const id of [dsId, 'warehouse']) {
      const writes = await preview(f.editor, id, "select nextval('counter')")
      // The warehouse has no such sequence: either way nothing is written.
      expect(writes.__typename).toBe('ValidationError')
      expect(writes.issues![0]!.path).toBe('query')
    }
    const ro = await preview(f.editor, dsId, "select nextval('public.counter')")
    expect(ro.message).toMatch(/read-only transaction/)
    await f.sql('create sequence wh_counter')
    const wro = await preview(f.editor, 'warehouse', "select nextval('wh_counter')")
    expect(wro.message).toMatch(/read-only transaction/)
    const big = (await preview(f.editor, dsId, "select repeat('x', 70000) as body union all select 'small'"))
      .preview!
    expect(big.rows).toEqual([['small']])
    expect(big.omittedRows).toBe(1)
    const bad = await preview(f.editor, dsId, 'select nope from sales.orders')
    expect(bad.issues).toEqual([
      { path: 'query', message: expect.stringContaining('column "nope" does not exist') },
    ])
    const unknown = await preview(f.editor, 'warehouse', 'select ${missing}')
    expect(unknown.issues![0]).toMatchObject({ path: 'query', message: expect.stringContaining('missing') })
    const empty = await preview(f.editor, 'warehouse', ' ; ')
    expect(empty.issues![0]).toMatchObject({ path: 'query', message: 'the query is empty' })
  })

  it('applies the egress policy to the datasource connection', async () => {
    const strict = await dataFixture({ SWITCHYARD_EGRESS_ALLOW: '' })
    try {
      const r = await strict.gql<{ createPostgresDatasource: { datasource: { id: string } } }>(
        `mutation($i: CreatePostgresDatasourceInput!) { createPostgresDatasource(input: $i) {
          ... on CreatePostgresDatasourceSuccess { datasource { id } } } }`,
        { i: { name: 'local', connectionString: src.url } },
        strict.admin,
      )
      const id = r.createPostgresDatasource.datasource.id
      const p = (
        await strict.gql<{ previewQuery: PreviewAnswer }>(PREVIEW, { id, q: 'select 1' }, strict.admin)
      ).previewQuery
      expect(p.__typename).toBe('ValidationError')
      expect(p.issues![0]).toMatchObject({
        path: 'datasourceId',
        message: expect.stringMatching(/egress refused/),
      })
      const c = (await strict.gql<{ datasourceCatalog: CatalogAnswer }>(CATALOG, { id }, strict.admin))
        .datasourceCatalog
      expect(c.message).toMatch(/egress refused/)
    } finally {
      await strict.stop()
    }
  })
})
