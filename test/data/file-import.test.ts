// biome-ignore-all lint/suspicious/noTemplateCurlyInString: SQL and configs here hold Switchyard ${variables} on purpose
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOrg } from '../helpers/fixtures'
import { fileServer, upload, xlsx } from './files'
import { type DataFixture, dataFixture } from './helpers'

let f: DataFixture
let web: Awaited<ReturnType<typeof fileServer>>

const CSV = [
  'id,name,amount,day,at,flag,note',
  '1,Ada,10.50,2024-01-01,2024-01-01T10:00:00Z,true,"plain"',
  '2,"Lovelace, A.",-3,2024-02-29,2024-01-02 11:00:00+02,false,"multi',
  'line"',
  '3,Bob,,2024-03-01,2024-01-03T00:00:00Z,TRUE,',
].join('\n')

const rowsOf = async (sql: string) => ((await f.sql(sql)).outputs as { rows: unknown[] }).rows
const columns = async (name: string) =>
  (
    await f.gql<{ storage: { columns: { name: string; type: string }[] } }>(
      `{ storage(name: "${name}") { columns { name type } } }`,
    )
  ).storage.columns.map((c) => `${c.name} ${c.type}`)

beforeAll(async () => {
  f = await dataFixture()
  web = await fileServer({
    '/daily-2024-05-01.csv': { body: 'day;value\n2024-05-01;1,5\n2024-05-02;2\n', type: 'text/csv' },
    '/fake.csv': { body: await xlsx({ S: [['a'], [1]] }) },
    '/export': {
      body: await xlsx({
        Data: [
          ['k', 'v'],
          ['x', 1],
        ],
      }),
      type: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    },
  })
})
afterAll(async () => {
  await f?.stop()
  await web?.close()
})

describe('uploads and FILE_IMPORT', () => {
  it('uploads a CSV and imports it with inferred types', async () => {
    const up = await upload(f.s, f.editor, 'people.csv', CSV)
    expect(up.status).toBe(201)
    expect(up.body.file).toMatchObject({ size: Buffer.byteLength(CSV), format: 'CSV' })
    const run = await f.run('FILE_IMPORT', {
      source: { type: 'UPLOAD', datasource: up.body.datasource!.id },
      target: { storage: 'people' },
    })
    expect(run.error).toBeNull()
    expect(run.outputs).toMatchObject({ rowsLoaded: 3, badRowCount: 0 })
    expect(await columns('people')).toEqual([
      'id bigint',
      'name text',
      'amount numeric',
      'day date',
      'at timestamp with time zone',
      'flag boolean',
      'note text',
    ])
    expect(
      await rowsOf(
        'select id::int, name, amount::text, day::text, extract(epoch from at)::int as at, flag, note from people order by id',
      ),
    ).toEqual([
      { id: 1, name: 'Ada', amount: '10.50', day: '2024-01-01', at: 1704103200, flag: true, note: 'plain' },
      {
        id: 2,
        name: 'Lovelace, A.',
        amount: '-3',
        day: '2024-02-29',
        at: 1704186000,
        flag: false,
        note: 'multi\nline',
      },
      { id: 3, name: 'Bob', amount: null, day: '2024-03-01', at: 1704240000, flag: true, note: null },
    ])
  })

  it('honours declared types and renames', async () => {
    const up = await upload(f.s, f.editor, 'codes.csv', 'code,label\n007,x\n042,y\n')
    const run = await f.run('FILE_IMPORT', {
      source: { type: 'UPLOAD', datasource: up.body.datasource!.id },
      options: { columns: [{ name: 'code', type: 'text', rename: 'zip' }] },
      target: { storage: 'codes' },
    })
    expect(run.error).toBeNull()
    expect(await rowsOf('select zip from codes order by zip')).toEqual([{ zip: '007' }, { zip: '042' }])
  })

  it('reports bad rows with their line numbers, and fails past maxBadRows leaving the storage as it was', async () => {
    // A stray quote makes the parser lose track of rows after it, so it comes last here.
    const bad = 'id,amount\n1,10\n2,abc\n3,30,extra\n5,50\n6,"60"x\n'
    const up = await upload(f.s, f.editor, 'bad.csv', bad)
    const id = up.body.datasource!.id
    const skipped = await f.run('FILE_IMPORT', {
      source: { type: 'UPLOAD', datasource: id },
      options: { maxBadRows: 5, columns: [{ name: 'amount', type: 'numeric' }] },
      target: { storage: 'amounts' },
    })
    expect(skipped.error).toBeNull()
    expect(skipped.outputs).toMatchObject({ rowsLoaded: 2, badRowCount: 3 })
    expect((skipped.outputs as { badRows: { line: number }[] }).badRows.map((b) => b.line)).toEqual([3, 4, 6])
    expect(skipped.logs.some((l) => l.level === 'WARN' && l.message.startsWith('line 3:'))).toBe(true)
    const failed = await f.run('FILE_IMPORT', {
      source: { type: 'UPLOAD', datasource: id },
      options: { columns: [{ name: 'amount', type: 'numeric' }] },
      target: { storage: 'amounts' },
    })
    expect(failed.state).toBe('FAILED')
    expect(failed.error).toContain('line 3: column "amount": "abc" is not a number')
    expect(failed.error).toContain('line 4: has 3 fields, expected 2')
    expect(failed.error).toMatch(/line 6: Invalid Closing Quote/)
    expect(await rowsOf('select id::int from amounts order by id')).toEqual([{ id: 1 }, { id: 5 }])
  })

  it('imports an XLSX sheet by name', async () => {
    const when = new Date(Date.UTC(2024, 4, 17))
    const book = await xlsx({
      Notes: [['ignore me']],
      Orders: [
        ['id', 'item', 'qty', 'when'],
        [1, 'pen', 3, when],
        [2, 'ink', 1.5, when],
        [3, null, 2, null],
      ],
    })
    const up = await upload(f.s, f.editor, 'orders.xlsx', book)
    expect(up.body.file?.format).toBe('XLSX')
    const run = await f.run('FILE_IMPORT', {
      source: { type: 'UPLOAD', datasource: up.body.datasource!.id },
      options: { sheet: 'Orders' },
      target: { storage: 'orders' },
    })
    expect(run.error).toBeNull()
    expect(await columns('orders')).toEqual(['id bigint', 'item text', 'qty numeric', 'when date'])
    expect(await rowsOf('select id::int, item, qty::text, "when"::text from orders order by id')).toEqual([
      { id: 1, item: 'pen', qty: '3', when: '2024-05-17' },
      { id: 2, item: 'ink', qty: '1.5', when: '2024-05-17' },
      { id: 3, item: null, qty: '2', when: null },
    ])
  })

  it('imports from a URL with ${variables}, semicolons and decimal commas', async () => {
    const run = await f.run(
      'FILE_IMPORT',
      {
        source: { type: 'URL', url: `${web.url}/daily-\${day}.csv` },
        options: { decimal: ',' },
        target: { storage: 'daily' },
      },
      { parameters: [{ name: 'day', type: 'STRING', default: '2024-05-01' }] },
    )
    expect(run.error).toBeNull()
    expect(await rowsOf('select day::text, value::text from daily order by day')).toEqual([
      { day: '2024-05-01', value: '1.5' },
      { day: '2024-05-02', value: '2' },
    ])
    const typed = await f.run('FILE_IMPORT', {
      source: { type: 'URL', url: `${web.url}/export` },
      target: { storage: 'export' },
    })
    expect(typed.outputs).toMatchObject({ rowsLoaded: 1 })
    const missing = await f.run('FILE_IMPORT', {
      source: { type: 'URL', url: `${web.url}/nope.csv` },
      target: { storage: 'x' },
    })
    expect(missing.error).toMatch(/download of .*\/nope\.csv failed: HTTP 404/)
  })

  it('refuses a file that is not what its extension says', async () => {
    const up = await upload(f.s, f.editor, 'report.xlsx', 'a,b\n1,2\n')
    expect(up).toEqual({
      status: 400,
      body: { error: 'report.xlsx is not an XLSX file: it looks like text' },
    })
    const run = await f.run('FILE_IMPORT', {
      source: { type: 'URL', url: `${web.url}/fake.csv` },
      target: { storage: 'x' },
    })
    expect(run.state).toBe('FAILED')
    expect(run.error).toBe('fake.csv is not a CSV file: it looks like a ZIP archive (XLSX?)')
  })

  it('keeps file options on the datasource and syncs a file into a storage', async () => {
    const up = await upload(f.s, f.editor, 'raw.txt', '7|x\n8|y\n', { delimiter: '|', header: 'false' })
    expect(up.status).toBe(201)
    const id = up.body.datasource!.id
    const set = await f.gql<{ updateDatasource: { datasource: { fileOptions: unknown } } }>(
      `mutation($id: ID!, $i: UpdateDatasourceInput!) { updateDatasource(id: $id, input: $i) {
        ... on UpdateDatasourceSuccess { datasource { fileOptions } } ... on Error { message } } }`,
      { id, i: { fileOptions: { columns: [{ name: 'n', type: 'integer' }, { name: 'label' }] } } },
    )
    expect(set.updateDatasource.datasource.fileOptions).toMatchObject({ delimiter: '|', header: false })
    const run = await f.run('SYNC_SOURCE', { source: { datasource: id }, target: { storage: 'raw' } })
    expect(run.error).toBeNull()
    expect(await columns('raw')).toEqual(['n integer', 'label text'])
    expect(await rowsOf('select n, label from raw order by n')).toEqual([
      { n: 7, label: 'x' },
      { n: 8, label: 'y' },
    ])
    const replaced = await upload(f.s, f.editor, 'raw.txt', '9|z\n', { datasource: id })
    expect(replaced.status).toBe(200)
    await f.run('SYNC_SOURCE', { source: { datasource: id }, target: { storage: 'raw' } })
    expect(await rowsOf('select n from raw')).toEqual([{ n: 9 }])
  })

  it('lets only editors upload, and keeps files within their organization', async () => {
    expect((await upload(f.s, f.viewer, 'a.csv', 'a\n1\n')).status).toBe(403)
    const up = await upload(f.s, f.editor, 'mine.csv', 'a\n1\n')
    const other = await createOrg(f.s.db)
    const token = await f.s.login(other.users.admin!.email, other.users.admin!.password)
    const d = await f.gql<{ datasource: unknown }>(
      'query($id: ID!) { datasource(id: $id) { id } }',
      { id: up.body.datasource!.id },
      token,
    )
    expect(d.datasource).toBeNull()
  })
})
