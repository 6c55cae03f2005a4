import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DataFixture, dataFixture } from './helpers'

let f: DataFixture

beforeAll(async () => {
  f = await dataFixture()
  await f.sql(
    `create table orders (id int primary key, customer text not null, amount numeric(10,2), at timestamptz)`,
  )
  await f.sql(
    `insert into orders select g, 'c' || (g % 3), g * 1.5, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 day' from generate_series(1, 25) g`,
  )
})
afterAll(() => f?.stop())

const PAGE = `query($n: String!, $o: Int, $l: Int, $ob: [StorageOrderBy!]) {
  storageRows(name: $n, offset: $o, limit: $l, orderBy: $ob) {
    __typename ... on StorageRowsSuccess { page { columns rows offset hasMore } }
    ... on Error { message } } }`

describe('storages', () => {
  it('lists storages with columns, types and row counts', async () => {
    const d = await f.gql<{
      storages: { name: string; kind: string; rowCount: number; columns: unknown[] }[]
    }>('{ storages { name kind rowCount modifiedAt columns { name type nullable } } }', {}, f.viewer)
    expect(d.storages).toEqual([
      {
        name: 'orders',
        kind: 'TABLE',
        rowCount: 25,
        modifiedAt: null,
        columns: [
          { name: 'id', type: 'integer', nullable: false },
          { name: 'customer', type: 'text', nullable: false },
          { name: 'amount', type: 'numeric(10,2)', nullable: true },
          { name: 'at', type: 'timestamp with time zone', nullable: true },
        ],
      },
    ])
  })

  it('previews rows page by page, ordered', async () => {
    const first = await f.gql<{ storageRows: { page: { rows: unknown[][]; hasMore: boolean } } }>(PAGE, {
      n: 'orders',
      l: 10,
      ob: [{ column: 'id', descending: true }],
    })
    expect(first.storageRows.page.rows).toHaveLength(10)
    expect(first.storageRows.page.rows[0]).toEqual([25, 'c1', 37.5, '2024-01-26T00:00:00+00:00'])
    expect(first.storageRows.page.hasMore).toBe(true)
    const last = await f.gql<{ storageRows: { page: { rows: unknown[][]; hasMore: boolean } } }>(PAGE, {
      n: 'orders',
      o: 20,
      l: 10,
      ob: [{ column: 'id' }],
    })
    expect(last.storageRows.page.rows.map((r) => r[0])).toEqual([21, 22, 23, 24, 25])
    expect(last.storageRows.page.hasMore).toBe(false)
  })

  it('refuses bad paging input and unknown storages with typed errors', async () => {
    const bad = await f.gql<{ storageRows: { __typename: string; message: string } }>(PAGE, {
      n: 'orders',
      l: 5000,
    })
    expect(bad.storageRows.__typename).toBe('ValidationError')
    const col = await f.gql<{ storageRows: { __typename: string } }>(PAGE, {
      n: 'orders',
      ob: [{ column: 'nope' }],
    })
    expect(col.storageRows.__typename).toBe('ValidationError')
    const missing = await f.gql<{ storageRows: { __typename: string } }>(PAGE, { n: 'missing' })
    expect(missing.storageRows.__typename).toBe('NotFoundError')
    const injected = await f.gql<{ storageRows: { __typename: string } }>(PAGE, {
      n: 'orders"; drop table orders; --',
    })
    expect(injected.storageRows.__typename).toBe('NotFoundError')
    expect((await f.gql<{ storages: unknown[] }>('{ storages { name } }')).storages.length).toBeGreaterThan(0)
  })

  it('drops a storage (editors only)', async () => {
    await f.sql('create table scratch (x int)')
    const DROP = 'mutation($n: String!) { deleteStorage(name: $n) { __typename ... on Error { message } } }'
    const viewer = await f.gql<{ deleteStorage: { __typename: string } }>(DROP, { n: 'scratch' }, f.viewer)
    expect(viewer.deleteStorage.__typename).toBe('ForbiddenError')
    const ok = await f.gql<{ deleteStorage: { __typename: string } }>(DROP, { n: 'scratch' })
    expect(ok.deleteStorage.__typename).toBe('DeleteStorageSuccess')
    const d = await f.gql<{ storage: unknown }>('{ storage(name: "scratch") { name } }')
    expect(d.storage).toBeNull()
  })

  it('keeps organizations apart', async () => {
    const { createOrg } = await import('../helpers/fixtures')
    const other = await createOrg(f.s.db)
    const token = await f.s.login(other.users.editor!.email, other.users.editor!.password)
    const d = await f.gql<{ storages: unknown[]; storage: unknown }>(
      '{ storages { name } storage(name: "orders") { name } }',
      {},
      token,
    )
    expect(d).toEqual({ storages: [], storage: null })
  })
})
