import { type IncomingMessage, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RUN_DETAIL, createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { LOOPBACK_EGRESS, type TestServer, startTestServer } from '../helpers/server'
import { ensureWebBuild, launchChromium, screenshot, signedInContext } from './browser'

// Issue 16, the rest of points 5 and 6: enum selects in run forms, a chain's step logs on
// its run page, runs filtered by automation and date, and a webhook's curl that fits.
let s: TestServer
let org: TestOrg
let browser: Browser
let admin: BrowserContext
let page: Page
let adminToken: string
let editorToken: string
let viewerToken: string
/** A step that calls it waits until the test answers (`release`). */
let held: ReturnType<typeof createServer>
let heldUrl: string
let requested: Promise<void>
let release: () => void

beforeAll(async () => {
  ensureWebBuild()
  // The HTTP_REQUEST step below calls a server of this test on loopback.
  s = await startTestServer({ env: { SWITCHYARD_EGRESS_ALLOW: LOOPBACK_EGRESS } })
  org = await createOrg(s.db)
  adminToken = await s.login(org.users.admin!.email, org.users.admin!.password)
  editorToken = await s.login(org.users.editor!.email, org.users.editor!.password)
  viewerToken = await s.login(org.users.viewer!.email, org.users.viewer!.password)
  let arrived: () => void = () => {}
  requested = new Promise((r) => {
    arrived = r
  })
  const waiting: ServerResponse[] = []
  release = () => {
    for (const res of waiting.splice(0)) res.end('released')
  }
  held = createServer((_req: IncomingMessage, res) => {
    waiting.push(res)
    arrived()
  })
  await new Promise<void>((r) => held.listen(0, '127.0.0.1', r))
  heldUrl = `http://127.0.0.1:${(held.address() as AddressInfo).port}/hold`
  browser = await launchChromium()
  admin = await signedInContext(browser, s.url, adminToken)
  await admin.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.url })
  page = await admin.newPage()
}, 240_000)

afterAll(async () => {
  release?.()
  await browser?.close()
  await new Promise((r) => (held ? held.close(r) : r(null)))
  await s?.stop()
})

const REGION = { name: 'region', type: 'STRING', default: 'eu', allowedValues: ['eu', 'us', 'apac'] }
const BATCH = { name: 'batch', type: 'NUMBER', allowedValues: [100, 500] }

describe('run forms: a parameter with allowed values is a select', () => {
  let id: string

  it('offers the values, takes one from a shared link and runs with them', async () => {
    id = await createAutomation(s, adminToken, {
      name: 'Regional refresh',
      kind: 'NOOP',
      config: {},
      parameters: [REGION, BATCH],
    })
    await page.goto(`${s.url}/automations/${id}/run?region=us`)
    const region = page.locator('select[name="param.region"]')
    await region.waitFor()
    expect(await region.locator('option').allTextContents()).toEqual(['(none)', 'eu', 'us', 'apac'])
    expect(await region.inputValue()).toBe('us')
    await page.selectOption('select[name="param.batch"]', '500')
    await expect.poll(() => page.url()).toContain('batch=500')
    expect(await page.locator('[data-share-link]').inputValue()).toBe(page.url())
    await screenshot(page, 'run-form-enum')
    await page.click('[data-action=run]')
    await page.waitForURL(/\/runs\/\d+$/)
    const run = await s.gql<{ run: { parameters: unknown } }>(
      RUN_DETAIL,
      { id: page.url().split('/').at(-1) },
      { token: adminToken },
    )
    expect(run.data!.run.parameters).toEqual({ region: 'us', batch: 500 })
  })

  it('marks a linked value outside the list beside its field and starts no run', async () => {
    await page.goto(`${s.url}/automations/${id}/run?region=mars`)
    const error = page.locator('[data-field-error="parameters.region"]')
    await error.waitFor()
    expect(await error.textContent()).toBe('must be one of: eu, us, apac')
    expect(await page.locator('select[name="param.region"]').inputValue()).toBe('mars')
    await screenshot(page, 'run-form-enum-outside')
    const before = await s.db.query('select id from runs where automation_id = $1', [id])
    await page.click('[data-action=run]')
    await page.selectOption('select[name="param.region"]', 'apac')
    await expect.poll(() => error.count()).toBe(0)
    expect(page.url()).toContain('region=apac')
    expect(await s.db.query('select id from runs where automation_id = $1', [id])).toHaveLength(before.length)
  })

  it('declares allowed values in the parameters editor, a default outside them refused beside it', async () => {
    const edited = await createAutomation(s, editorToken, {
      name: 'Editable enum',
      kind: 'NOOP',
      config: {},
      parameters: [{ name: 'region', type: 'STRING' }],
    })
    await page.goto(`${s.url}/automations/${edited}`)
    const allowed = page.locator('input[name="parameters.0.allowedValues"]')
    await allowed.fill('eu, us')
    await page.getByLabel('Default', { exact: true }).fill('mars')
    await page.click('[data-action=save]')
    const error = page.locator('[data-field-error="parameters.0.default"]')
    await error.waitFor()
    expect(await error.textContent()).toBe('must be one of: eu, us')
    await screenshot(page, 'parameters-editor-enum')
    await page.getByLabel('Default', { exact: true }).fill('us')
    await page.click('[data-action=save]')
    await page.getByText('Saved.').waitFor()
    const r = await s.gql<{ automation: { parameters: unknown[] } }>(
      'query($id: ID!) { automation(id: $id) { parameters { name default allowedValues } } }',
      { id: edited },
      { token: editorToken },
    )
    expect(r.data!.automation.parameters).toEqual([
      { name: 'region', default: 'us', allowedValues: ['eu', 'us'] },
    ])
  })
})

describe("a chain's run page shows its steps' logs", () => {
  let runId: string

  it('opens each step log in place, live while the step runs', async () => {
    const call = await createAutomation(s, adminToken, {
      name: 'Call the vendor',
      kind: 'HTTP_REQUEST',
      config: { method: 'GET', url: heldUrl },
    })
    // A folder only the editor is granted: the viewer may see the chain but not this step.
    const folder = await s.gql<{ createFolder: { folder: { id: string } } }>(
      'mutation { createFolder(name: "Payroll") { ... on CreateFolderSuccess { folder { id } } } }',
      {},
      { token: adminToken },
    )
    const folderId = folder.data!.createFolder.folder.id
    await s.gql(
      `mutation { grantFolder(folderId: "${folderId}", userId: "${org.users.editor!.id}", permission: EDIT) { __typename } }`,
      {},
      { token: adminToken },
    )
    const secret = await createAutomation(s, adminToken, {
      name: 'Payroll export',
      kind: 'SCRIPT',
      folderId,
      config: { code: "log('payroll rows: 42')" },
    })
    const chain = await createAutomation(s, adminToken, {
      name: 'Vendor pipeline',
      kind: 'CHAIN',
      config: { children: [call, secret] },
    })
    runId = await runAutomation(s, adminToken, chain)
    await requested
    await page.goto(`${s.url}/runs/${runId}`)
    const first = page.locator('[data-step-logs] details').first()
    await first.locator('summary').click()
    await first.locator('[data-log-line]', { hasText: `GET ${heldUrl}` }).waitFor()
    // Still running: the log is live and the step's answer not yet in it.
    expect(await first.getAttribute('data-run-state')).toBe('RUNNING')
    expect(await first.locator('.tail').count()).toBe(1)
    await screenshot(page, 'run-chain-step-log-live')
    // Marked in the page: a log that restarted when the step changed state would lose it.
    await first
      .locator('[data-log-line]')
      .first()
      .evaluate((el) => {
        el.setAttribute('data-seen', '')
      })
    release()
    await first.locator('[data-log-line]', { hasText: '→ 200' }).waitFor({ timeout: 30_000 })
    await expect.poll(() => first.getAttribute('data-run-state')).toBe('SUCCEEDED')
    expect(await first.locator('[data-log-line][data-seen]').count()).toBe(1)
    const second = page.locator('[data-step-logs] details').nth(1)
    await second.locator('summary', { hasText: 'Payroll export' }).waitFor({ timeout: 30_000 })
    await page.locator('.page-header [data-run-state="SUCCEEDED"]').waitFor({ timeout: 30_000 })
    await second.locator('summary').click()
    await second.locator('[data-log-line]', { hasText: 'payroll rows: 42' }).waitFor()
    await screenshot(page, 'run-chain-step-logs')
  })

  it('shows a viewer only the logs of steps they may see', async () => {
    const viewer = await signedInContext(browser, s.url, viewerToken)
    const vpage = await viewer.newPage()
    await vpage.goto(`${s.url}/runs/${runId}`)
    const steps = vpage.locator('[data-step-logs] details')
    await steps.first().waitFor()
    expect(await steps.count()).toBe(1)
    await steps.first().locator('summary').click()
    await steps.first().locator('[data-log-line]', { hasText: '→ 200' }).waitFor()
    expect(await vpage.locator('[data-step-logs]').textContent()).not.toContain('Payroll')
    // The timeline says a step is hidden rather than "not started".
    expect(await vpage.locator('[data-hidden-steps]').textContent()).toBe('1 more step you may not see.')
    expect(await vpage.locator('[data-timeline] .pending').count()).toBe(0)
    await screenshot(vpage, 'run-chain-step-logs-viewer')
    await viewer.close()
    // The API holds the same line: the hidden step and its log are not among the steps.
    const r = await s.gql<{ run: { children: { logs: { message: string }[] }[] } }>(
      'query($id: ID!) { run(id: $id) { children { logs { message } } } }',
      { id: runId },
      { token: viewerToken },
    )
    expect(r.data!.run.children).toHaveLength(1)
    expect(JSON.stringify(r.data)).not.toContain('payroll')
  })
})

describe('the Runs page filters by automation and by date', () => {
  let nightly: string
  let other: string
  const dated: Record<string, string[]> = {}

  beforeAll(async () => {
    nightly = await createAutomation(s, adminToken, { name: 'Nightly load', kind: 'NOOP', config: {} })
    other = await createAutomation(s, adminToken, { name: 'Other load', kind: 'NOOP', config: {} })
    // 55 runs of each on 2024-04-10 (more than a page), one of each on 2024-05-01..03.
    const plan: [string, string][] = []
    for (let i = 0; i < 55; i++) plan.push([nightly, '2024-04-10'], [other, '2024-04-10'])
    for (const day of ['2024-05-01', '2024-05-02', '2024-05-03']) plan.push([nightly, day], [other, day])
    const ids = []
    for (const [automation] of plan) ids.push(await runAutomation(s, adminToken, automation))
    for (const id of ids) await waitForRun(s, adminToken, id)
    for (const [i, [automation, day]] of plan.entries()) {
      // Noon UTC: the same day in the browser's time zone, wherever the test runs.
      await s.db.query('update runs set created_at = $2 where id = $1', [ids[i], `${day}T12:00:00Z`])
      if (automation === nightly) dated[day] = [...(dated[day] ?? []), ids[i]!]
    }
  }, 240_000)

  const shownRuns = (p: Page) =>
    p
      .locator('[data-table=runs] tbody tr[data-run-id]')
      .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.runId))

  it('by automation and a day range, in a link that opens the same list', async () => {
    await page.goto(`${s.url}/runs`)
    await page.selectOption('select[name=automation]', { label: 'Nightly load' })
    await page.waitForURL(new RegExp(`automation=${nightly}`))
    await page.fill('input[name=from]', '2024-05-02')
    await page.waitForURL(/from=2024-05-02/)
    await page.fill('input[name=to]', '2024-05-02')
    await page.waitForURL(/to=2024-05-02/)
    await expect.poll(() => shownRuns(page)).toEqual(dated['2024-05-02'])
    await screenshot(page, 'runs-filtered')
    const shared = await admin.newPage()
    await shared.goto(`${s.url}/runs?automation=${nightly}&from=2024-05-01&to=2024-05-03`)
    await expect
      .poll(() => shownRuns(shared))
      .toEqual(['2024-05-03', '2024-05-02', '2024-05-01'].map((d) => dated[d]![0]))
    expect(await shared.locator('select[name=automation]').inputValue()).toBe(nightly)
    expect(await shared.locator('input[name=from]').inputValue()).toBe('2024-05-01')
    await shared.close()
  })

  it('pages through a filtered list without letting other runs in', async () => {
    await page.goto(`${s.url}/runs?automation=${nightly}&from=2024-04-10&to=2024-04-10`)
    await expect.poll(async () => (await shownRuns(page)).length).toBe(50)
    await page.getByRole('button', { name: 'Load older runs' }).click()
    await expect.poll(async () => (await shownRuns(page)).length).toBe(55)
    expect(await shownRuns(page)).toEqual([...dated['2024-04-10']!].reverse())
    expect(await page.getByRole('button', { name: 'Load older runs' }).count()).toBe(0)
  })

  it('says beside the field what is wrong with a date', async () => {
    await page.goto(`${s.url}/runs?from=2024-05-03&to=2024-05-01`)
    const until = page.locator('[data-field-error=until]')
    await until.waitFor()
    expect(await until.textContent()).toBe('the range ends before it starts: until must be later than since')
    expect(await page.getByText('No run matches these filters.').count()).toBe(1)
    await screenshot(page, 'runs-filter-bad-range')
    await page.goto(`${s.url}/runs?from=yesterday`)
    const since = page.locator('[data-field-error=since]')
    await since.waitFor()
    expect(await since.textContent()).toBe('"yesterday" is not a day: pick one, or write it as 2024-05-31')
  })
})

describe('the Webhook tab at 800 px', () => {
  it('wraps a long curl command inside its card and copies it whole', async () => {
    const id = await createAutomation(s, adminToken, {
      name: 'Hooked load',
      kind: 'NOOP',
      config: {},
      parameters: [
        { name: 'source_table_with_a_long_name', type: 'STRING', default: 'warehouse.sales_orders_2024_q1' },
        { name: 'destination', type: 'STRING', default: 'reporting.sales_orders_daily_rollup' },
      ],
    })
    await page.setViewportSize({ width: 800, height: 900 })
    await page.goto(`${s.url}/automations/${id}/webhook`)
    await page.click('[data-action=create-webhook]')
    await page.locator('[data-webhook-url]').waitFor()
    const curl = page.locator('pre[data-curl]')
    const fits = await curl.evaluate((el) => {
      const card = el.closest('.card')!.getBoundingClientRect()
      const box = el.getBoundingClientRect()
      return {
        inside: box.right <= card.right && card.right <= document.documentElement.clientWidth,
        overflow: el.scrollWidth - el.clientWidth,
      }
    })
    expect(fits).toEqual({ inside: true, overflow: 0 })
    await screenshot(page, 'webhook-curl-800')
    await page.locator('[data-copy=curl]').first().click()
    await page.getByRole('button', { name: 'Copied' }).waitFor()
    const copied = await page.evaluate(() => navigator.clipboard.readText())
    expect(copied).toBe(await curl.textContent())
    expect(copied).toContain('"destination":"reporting.sales_orders_daily_rollup"')
    expect(copied).toMatch(/\/hooks\/[^<]/)
    await page.setViewportSize({ width: 1360, height: 900 })
  })
})
