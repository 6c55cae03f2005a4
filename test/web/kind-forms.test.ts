import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunDetail, runAutomation, waitForRun } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { LOOPBACK_EGRESS, type TestServer, startTestServer } from '../helpers/server'
import { type SourceDb, createSourceDb } from '../data/source-db'
import { ensureWebBuild, fillEditor, launchChromium, screenshot, signedInContext } from './browser'
import { FORM_FIELDS } from '../../web/src/lib/automations/config-fields'
import { kindConfigSchema } from '../../server/src/kinds/json-schema'

/**
 * Every data kind authored through its form in Chromium (nothing typed as JSON), saved,
 * run, and its effect read back: one server, one browser and one source database for
 * the whole file.
 */
let s: TestServer
let org: TestOrg
let browser: Browser
let page: Page
let editor: string
let src: SourceDb
let dsId: string

const DATA_KINDS = [
  'SQL_TO_STORAGE',
  'SYNC_SOURCE',
  'FILE_IMPORT',
  'ETL_STEP',
  'PIVOT',
  'CONCATENATE',
  'COMPUTE_METRICS',
  'RUN_CHECKS',
  'ALARM',
  'SET_VARIABLES',
]

async function gql<T>(query: string, variables: Record<string, unknown> = {}, token = editor): Promise<T> {
  const r = await s.gql<T>(query, variables, { token })
  if (r.errors) throw new Error(JSON.stringify(r.errors))
  return r.data as T
}

/** Runs an automation made through the API (setup only: the warehouse tables the forms read). */
async function sql(statement: string): Promise<void> {
  const r = await gql<{ createAutomation: { automation: { id: string } } }>(
    `mutation($i: AutomationInput!) { createAutomation(input: $i) { ... on CreateAutomationSuccess { automation { id } } } }`,
    { i: { name: `setup ${Math.random()}`, kind: 'SQL', config: { statement } } },
  )
  const run = await waitForRun(s, editor, await runAutomation(s, editor, r.createAutomation.automation.id))
  if (run.state !== 'SUCCEEDED') throw new Error(`setup failed: ${run.error}`)
}

/** Opens the New automation form on `kind`, lets `fill` use the kind's form, saves, and runs it. */
async function authorAndRun(kind: string, name: string, fill: () => Promise<void>): Promise<RunDetail> {
  await page.goto(`${s.url}/automations/new`)
  await page.fill('input[name=name]', name)
  await page.selectOption('select[name=kind]', kind)
  await page.locator(`.config-editor[data-kind=${kind}]`).waitFor()
  await fill()
  await screenshot(page, `kind-form-${kind.toLowerCase()}`)
  await page.click('[data-action=save]')
  await page.waitForURL(/\/automations\/[0-9a-f-]{36}$/)
  const id = page.url().split('/').at(-1)!
  const run = await waitForRun(s, editor, await runAutomation(s, editor, id), undefined, 60_000)
  expect(run.error).toBeNull()
  expect(run.state).toBe('SUCCEEDED')
  return run
}

/** Types a query into its editor; the preview button comes alive once the form holds the text. */
async function fillQuery(path: string, text: string): Promise<void> {
  await fillEditor(page, path, text)
  await page.locator(`[data-action=preview][data-for="${path}"]:not([disabled])`).waitFor()
}

const rowsOf = async (name: string) =>
  (
    await gql<{ storageRows: { page: { columns: string[]; rows: unknown[][] } } }>(
      `query($n: String!) { storageRows(name: $n, limit: 1000) { ... on StorageRowsSuccess { page { columns rows } } } }`,
      { n: name },
    )
  ).storageRows.page

beforeAll(async () => {
  ensureWebBuild()
  s = await startTestServer({ env: { SWITCHYARD_EGRESS_ALLOW: LOOPBACK_EGRESS } })
  org = await createOrg(s.db)
  const admin = await s.login(org.users.admin!.email, org.users.admin!.password)
  editor = await s.login(org.users.editor!.email, org.users.editor!.password)
  src = await createSourceDb()
  await src.sql.unsafe(`create schema shop;
    create table shop.orders (id bigint primary key, customer text, amount integer);
    insert into shop.orders select g, 'c' || g % 3, g * 10 from generate_series(1, 25) g;`)
  const ds = await gql<{ createPostgresDatasource: { datasource: { id: string } } }>(
    `mutation($i: CreatePostgresDatasourceInput!) { createPostgresDatasource(input: $i) {
      ... on CreatePostgresDatasourceSuccess { datasource { id } } } }`,
    { i: { name: 'shop', connectionString: src.url } },
    admin,
  )
  dsId = ds.createPostgresDatasource.datasource.id
  await gql(
    'mutation($i: DatasourceGrantInput!) { grantDatasource(input: $i) { __typename } }',
    { i: { datasourceId: dsId, userId: org.users.editor!.id, permission: 'USE' } },
    admin,
  )
  await sql('create table sales (region text, month text, amount integer)')
  await sql(
    `insert into sales values ('eu', 'jan', 5), ('eu', 'feb', 20), ('us', 'jan', 30), ('us', 'feb', 40)`,
  )
  browser = await launchChromium()
  page = await (await signedInContext(browser, s.url, editor)).newPage()
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await s?.stop()
  await src?.drop()
})

describe('a form for every data kind', () => {
  it('covers every key of each kind’s config schema with its form', () => {
    for (const kind of DATA_KINDS) {
      const schema = kindConfigSchema(kind) as { properties: Record<string, unknown> }
      // A key added to a kind's schema without a field in its form fails here.
      expect([...(FORM_FIELDS[kind] ?? [])].sort(), kind).toEqual(Object.keys(schema.properties).sort())
    }
  })

  it('SQL_TO_STORAGE: a query on a PostgreSQL datasource, previewed, upserted by key', async () => {
    await authorAndRun('SQL_TO_STORAGE', 'Copy big orders', async () => {
      await page.selectOption('select[name="config.source.datasource"]', dsId)
      await fillQuery(
        'config.source.query',
        'select id, customer, amount from shop.orders where amount > 100',
      )
      await page.click('[data-action=preview][data-for="config.source.query"]')
      const preview = page.locator('[data-preview="config.source.query"]')
      await preview.waitFor()
      expect(await preview.locator('th').allTextContents()).toEqual(['id', 'customer', 'amount'])
      expect(await preview.locator('tbody tr').count()).toBe(15)
      await page.fill('input[name="config.target.storage"]', 'big_orders')
      await page.selectOption('select[name="config.target.mode"]', 'UPSERT')
      await page.fill('input[name="config.target.key"]', 'id')
    })
    expect((await rowsOf('big_orders')).rows).toHaveLength(15)
  })

  it('SYNC_SOURCE: a table picked from the datasource’s catalog', async () => {
    await authorAndRun('SYNC_SOURCE', 'Sync orders', async () => {
      await page.selectOption('select[name="config.source.datasource"]', dsId)
      await page.selectOption('select[name="config.source.table"]', 'shop.orders')
      const columns = page.locator('[data-columns="shop.orders"] .pill')
      await columns.first().waitFor()
      expect(await columns.count()).toBe(3)
      await page.fill('input[name="config.target.storage"]', 'orders_sync')
    })
    const page1 = await rowsOf('orders_sync')
    expect(page1.columns).toEqual(['id', 'customer', 'amount'])
    expect(page1.rows).toHaveLength(25)
  })

  it('FILE_IMPORT: a CSV uploaded from the form', async () => {
    await authorAndRun('FILE_IMPORT', 'Import people', async () => {
      await page.setInputFiles('input[name=upload]', {
        name: 'people.csv',
        mimeType: 'text/csv',
        buffer: Buffer.from('name,age\nada,36\ngrace,45\nlinus,28\n'),
      })
      await expect
        .poll(() => page.locator('select[name="config.source.datasource"]').inputValue())
        .toMatch(/^[0-9a-f-]{36}$/)
      await page.fill('input[name="config.target.storage"]', 'people')
    })
    expect((await rowsOf('people')).rows).toEqual([
      ['ada', 36],
      ['grace', 45],
      ['linus', 28],
    ])
  })

  it('ETL_STEP: a filter and a group-by aggregate over a storage', async () => {
    await authorAndRun('ETL_STEP', 'Sales by region', async () => {
      await page.check('input[name="config.source.readBy"][value=table]')
      await page.selectOption('select[name="config.source.table"]', 'sales')
      await page.click('[data-action=add][data-for="config.transform.filters"]')
      await page.fill('input[name="config.transform.filters.0.column"]', 'amount')
      await page.selectOption('select[name="config.transform.filters.0.op"]', '>')
      await page.fill('input[name="config.transform.filters.0.value"]', '10')
      await page.check('input[name="transform.groupBy.enabled"]')
      await page.fill('input[name="config.transform.groupBy.columns"]', 'region')
      await page.fill('input[name="config.transform.groupBy.aggregates.0.column"]', 'amount')
      await page.fill('input[name="config.transform.groupBy.aggregates.0.as"]', 'total')
      await page.fill('input[name="config.target.storage"]', 'sales_by_region')
    })
    const r = await rowsOf('sales_by_region')
    expect(r.columns).toEqual(['region', 'total'])
    expect(r.rows.map(([region, total]) => [region, Number(total)]).sort()).toEqual([
      ['eu', 20],
      ['us', 70],
    ])
  })

  it('PIVOT: rows, the column to spread and the value', async () => {
    await authorAndRun('PIVOT', 'Sales pivot', async () => {
      await page.check('input[name="config.source.readBy"][value=table]')
      await page.selectOption('select[name="config.source.table"]', 'sales')
      await page.fill('input[name="config.pivot.rows"]', 'region')
      await page.fill('input[name="config.pivot.column"]', 'month')
      await page.fill('input[name="config.pivot.value"]', 'amount')
      await page.fill('input[name="config.target.storage"]', 'sales_pivot')
    })
    const r = await rowsOf('sales_pivot')
    expect(r.columns).toEqual(['region', 'feb', 'jan'])
    expect(r.rows.map((row) => row.map((v) => (typeof v === 'string' ? v : Number(v)))).sort()).toEqual([
      ['eu', 20, 5],
      ['us', 40, 30],
    ])
  })

  it('CONCATENATE: two sources stacked, each row tagged with its source', async () => {
    await authorAndRun('CONCATENATE', 'Sales twice', async () => {
      for (const i of [0, 1]) {
        await page.check(`input[name="config.sources.${i}.readBy"][value=table]`)
        await page.selectOption(`select[name="config.sources.${i}.table"]`, 'sales')
      }
      await page.fill('input[name="config.sourceColumn"]', 'source_no')
      await page.fill('input[name="config.target.storage"]', 'sales_twice')
    })
    const r = await rowsOf('sales_twice')
    expect(r.rows).toHaveLength(8)
    expect(r.columns).toContain('source_no')
  })

  it('COMPUTE_METRICS: a row count and a column sum of a picked table', async () => {
    const run = await authorAndRun('COMPUTE_METRICS', 'Sales metrics', async () => {
      await page.selectOption('select[name="config.target.table"]', 'sales')
      await page.click('[data-action=add][data-for="config.metrics"]')
      await page.selectOption('select[name="config.metrics.1.type"]', 'SUM')
      await page.fill('input[name="config.metrics.1.column"]', 'amount')
    })
    expect(run.outputs).toMatchObject({ metrics: { row_count: 4, sum_amount: 95 } })
    const m = await gql<{ metrics: { name: string; value: number }[] }>('query { metrics { name value } }')
    expect(m.metrics).toContainEqual({ name: 'sum_amount', value: 95 })
  })

  it('RUN_CHECKS: a query judged by a minimum', async () => {
    const run = await authorAndRun('RUN_CHECKS', 'Sales checks', async () => {
      await page.fill('input[name="config.checks.0.name"]', 'has_sales')
      await fillQuery('config.checks.0.sql.query', 'select count(*) from sales')
      await page.fill('input[name="config.checks.0.rule.min"]', '1')
    })
    expect(run.outputs).toMatchObject({ summary: { OK: 1, WARNING: 0, ERROR: 0 } })
  })

  it('ALARM: a threshold crossed writes a row to its storage reporter', async () => {
    const run = await authorAndRun('ALARM', 'Sales alarm', async () => {
      await fillQuery('config.source.query', 'select sum(amount) from sales')
      await page.selectOption('select[name="config.operator"]', '>=')
      await page.fill('input[name="config.threshold"]', '90')
      await page.fill('input[name="config.reporters.0.storage"]', 'alarm_log')
    })
    expect(run.outputs).toMatchObject({ triggered: true, value: 95, notified: expect.any(Array) })
    expect((await rowsOf('alarm_log')).rows).toHaveLength(1)
  })

  it('SET_VARIABLES: an organization variable from a query', async () => {
    await authorAndRun('SET_VARIABLES', 'Count regions', async () => {
      await page.selectOption('select[name="config.scope"]', 'ORGANIZATION')
      await page.fill('input[name="config.variables.0.name"]', 'region_count')
      await page.selectOption('select[name="config.variables.0.from"]', 'query')
      await fillQuery('config.variables.0.query.sql', 'select count(distinct region) from sales')
    })
    const [v] = await s.db.query<{ value: unknown }>(
      'select value from variables where org_id = $1 and automation_id is null and name = $2',
      [org.id, 'region_count'],
    )
    // count() is a bigint: stored as the warehouse renders it.
    expect(Number(v?.value)).toBe(2)
  })

  it('shows a server validation message beside its field, and keeps the JSON view', async () => {
    await page.goto(`${s.url}/automations/new`)
    await page.fill('input[name=name]', 'Bad target')
    await page.selectOption('select[name=kind]', 'SQL_TO_STORAGE')
    await fillQuery('config.source.query', 'select 1 as one')
    await page.fill('input[name="config.target.storage"]', 'Bad Name')
    await page.click('[data-action=save]')
    const error = page.locator(
      'label:has(input[name="config.target.storage"]) [data-field-error="config.target.storage"]',
    )
    await error.waitFor()
    expect(await error.textContent()).toMatch(/lowercase/)
    expect(await page.locator('input[name="config.target.storage"]').getAttribute('aria-invalid')).toBe(
      'true',
    )
    await screenshot(page, 'kind-form-validation')
    await page.check('input[name=config-mode][value=true]')
    const json = JSON.parse(await page.locator('textarea[name="config.json"]').inputValue())
    expect(json).toMatchObject({
      source: { datasource: 'warehouse', query: 'select 1 as one' },
      target: { storage: 'Bad Name' },
    })
  })
})
