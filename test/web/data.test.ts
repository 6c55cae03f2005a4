import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { LOOPBACK_EGRESS, type TestServer, startTestServer } from '../helpers/server'
import { ensureWebBuild, launchChromium, screenshot, signedInContext } from './browser'

let s: TestServer
let org: TestOrg
let browser: Browser
let admin: BrowserContext
let page: Page
let adminToken: string
let metricsId: string

/** Creates an automation, runs it `times` times and fails the test unless every run succeeds. */
async function runOk(id: string, times = 1) {
  for (let i = 0; i < times; i++) {
    const run = await waitForRun(s, adminToken, await runAutomation(s, adminToken, id), undefined, 60_000)
    if (run.state !== 'SUCCEEDED') throw new Error(`run of ${id} ended ${run.state}: ${run.error}`)
  }
}

async function sql(name: string, statement: string) {
  await runOk(await createAutomation(s, adminToken, { name, kind: 'SQL', config: { statement } }))
}

beforeAll(async () => {
  ensureWebBuild()
  // The datasource form is tested against the local PostgreSQL.
  s = await startTestServer({ env: { SWITCHYARD_EGRESS_ALLOW: LOOPBACK_EGRESS } })
  org = await createOrg(s.db)
  adminToken = await s.login(org.users.admin!.email, org.users.admin!.password)
  await sql(
    'Load orders',
    `create table orders as select g as id, 'customer ' || g as customer, (g * 1.5)::numeric(10,2) as amount,
       timestamptz '2026-01-01 00:00:00+00' + g * interval '1 hour' as placed_at from generate_series(1, 120) g`,
  )
  metricsId = await createAutomation(s, adminToken, {
    name: 'Order metrics',
    kind: 'COMPUTE_METRICS',
    config: {
      target: { table: 'orders' },
      metrics: [{ type: 'ROW_COUNT' }, { type: 'SUM', column: 'amount' }],
    },
  })
  const checks = await createAutomation(s, adminToken, {
    name: 'Order checks',
    kind: 'RUN_CHECKS',
    config: {
      checks: [
        { name: 'has_orders', metric: { table: 'orders', name: 'row_count' }, rule: { type: 'MIN', min: 1 } },
        {
          name: 'order_volume',
          metric: { table: 'orders', name: 'row_count' },
          rule: { type: 'MAX', max: 1000, softMax: 125 },
          blocking: false,
        },
      ],
    },
  })
  // Two rounds with new orders in between, so the history has two different values.
  await runOk(metricsId)
  await runOk(checks)
  await sql(
    'Add orders',
    `insert into orders select g, 'customer ' || g, g, now() from generate_series(121, 130) g`,
  )
  await runOk(metricsId)
  await runOk(checks)
  browser = await launchChromium()
  admin = await signedInContext(browser, s.url, adminToken)
  page = await admin.newPage()
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await s?.stop()
})

describe('data pages in Chromium', () => {
  it('lists the storage a SQL automation created and pages through its rows', async () => {
    await page.goto(`${s.url}/data`)
    const row = page.locator('[data-storage=orders]')
    await row.waitFor()
    expect(await row.locator('[data-row-count]').textContent()).toBe('130')
    expect(await row.textContent()).toContain('amount numeric')
    await screenshot(page, 'web-data-storages')

    await row.getByRole('link', { name: 'orders' }).click()
    await page.waitForURL(/\/data\/storages\/orders$/)
    await page.locator('[data-column=placed_at]').waitFor()
    expect(await page.locator('[data-column=placed_at]').textContent()).toContain('timestamp with time zone')
    expect(await page.locator('[data-table=rows] [data-row]').count()).toBe(50)
    expect(await page.locator('[data-table=rows] [data-row]').first().textContent()).toContain('customer 1')
    await screenshot(page, 'web-data-storage-rows')

    await page.locator('[data-action=next-page]').click()
    await page.waitForURL(/offset=50/)
    await expect
      .poll(() => page.locator('[data-table=rows] [data-row]').first().textContent())
      .toContain('customer 51')
    // Sorting by a column asks the server to order the rows.
    await page.locator('[data-table=rows] th a', { hasText: 'id' }).click()
    await page.waitForURL(/sort=id/)
    await page.locator('[data-table=rows] th a', { hasText: 'id ▲' }).click()
    await page.waitForURL(/sort=-id/)
    await expect.poll(() => page.locator('[data-table=rows] [data-row] td').first().textContent()).toBe('130')
  })

  it('draws the metric history of a COMPUTE_METRICS automation run twice, and check outcomes over time', async () => {
    await page.goto(`${s.url}/data/quality`)
    const rowCount = page.locator('[data-metric=row_count]')
    await rowCount.locator('[data-chart=metric] canvas').waitFor()
    expect(await rowCount.locator('[data-metric-value]').textContent()).toBe('130')
    expect(await rowCount.textContent()).toContain('2 values')
    expect(await rowCount.locator(`a[href="/automations/${metricsId}"]`).count()).toBe(1)
    await page.locator('[data-metric=sum_amount] [data-chart=metric] canvas').waitFor()
    // uPlot's legend shows the series of the outcomes chart.
    await page.locator('[data-chart=check-outcomes] canvas').waitFor()
    expect(await page.locator('[data-chart=check-outcomes]').textContent()).toContain('WARNING')
    expect(await page.locator('[data-check=has_orders]').getAttribute('data-outcome')).toBe('OK')
    // 120 rows were under the soft maximum 125, 130 are over it.
    const volume = page.locator('[data-check=order_volume]')
    expect(await volume.getAttribute('data-outcome')).toBe('WARNING')
    expect(await volume.locator('.tick').count()).toBe(2)
    await screenshot(page, 'web-data-quality')
  })

  it('creates a PostgreSQL datasource, tests its connection, and hides the form from a VIEWER', async () => {
    const connectionString = s.databaseUrl ?? 'postgres://postgres@127.0.0.1:5432/postgres'
    await page.goto(`${s.url}/data/datasources`)
    await page
      .locator('[data-datasource=warehouse], [data-table=datasources] tr', { hasText: 'WAREHOUSE' })
      .first()
      .waitFor()
    const form = page.locator('form[aria-label="New PostgreSQL datasource"]')
    await form.locator('input[name=name]').fill('Reporting replica')
    await form.locator('input[name=connectionString]').fill('mysql://nope')
    await form.locator('button[type=submit]').click()
    await form.locator('[data-field-error=connectionString]').waitFor()
    await form.locator('input[name=connectionString]').fill(connectionString)
    await form.locator('[data-action=test-connection]').click()
    await expect.poll(() => form.locator('[data-connection-test]').textContent()).toContain('Connected')
    await form.locator('button[type=submit]').click()
    const row = page.locator('[data-datasource="Reporting replica"]')
    await row.waitFor()
    expect(await row.textContent()).toContain('POSTGRES')
    expect(await row.textContent()).not.toContain(connectionString)
    await row.getByRole('button', { name: 'Test' }).click()
    await expect.poll(() => row.locator('[data-test-result]').textContent()).toContain('✓')
    await screenshot(page, 'web-data-datasources')

    const viewerToken = await s.login(org.users.viewer!.email, org.users.viewer!.password)
    const viewer = await signedInContext(browser, s.url, viewerToken)
    const vp = await viewer.newPage()
    await vp.goto(`${s.url}/data/datasources`)
    await vp.locator('[data-table=datasources]').waitFor()
    await vp.getByText('Admins add database connections').waitFor()
    expect(await vp.locator('form[aria-label="New PostgreSQL datasource"]').count()).toBe(0)
    await viewer.close()
  })
})
