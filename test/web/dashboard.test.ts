import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'
import {
  ARTIFACTS,
  ensureWebBuild,
  fillEditor,
  launchChromium,
  screenshot,
  signedInContext,
  weighScripts,
} from './browser'

const RUNS_PAGE_BUDGET = 150 * 1024

let s: TestServer
let org: TestOrg
let browser: Browser
let admin: BrowserContext
let page: Page
let adminToken: string
let automationId: string
let quickId: string

/** A script slow enough that the run page is open before it ends, so its lines must arrive live. */
const SLOW_SCRIPT = [
  "console.log('step one: extracting')",
  'await new Promise((resolve) => setTimeout(resolve, 1500))',
  "console.log('step two: loading', params)",
  "setOutput('rows', 42)",
].join('\n')

/**
 * Waits until the page's subscriptions are open. graphql-ws does not confirm a
 * subscription, so a short pause covers the server registering it.
 */
async function waitForLive(p: Page) {
  await p.locator('[data-live=live]').waitFor()
  await p.waitForTimeout(300)
}

beforeAll(async () => {
  ensureWebBuild()
  s = await startTestServer()
  org = await createOrg(s.db)
  adminToken = await s.login(org.users.admin!.email, org.users.admin!.password)
  browser = await launchChromium()
  admin = await browser.newContext({ viewport: { width: 1360, height: 900 } })
  page = await admin.newPage()
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await s?.stop()
})

describe('dashboard in Chromium', () => {
  it('signs in through the login page', async () => {
    await page.goto(`${s.url}/runs`)
    await page.waitForURL(/\/login\?next=%2Fruns/)
    await page.fill('input[name=email]', org.users.admin!.email)
    await page.fill('input[name=password]', 'wrong password')
    await page.click('button[type=submit]')
    await page.getByRole('alert').getByText('wrong email or password').waitFor()
    await screenshot(page, 'web-login')
    await page.fill('input[name=password]', org.users.admin!.password)
    await page.click('button[type=submit]')
    await page.waitForURL(/\/runs$/)
    await page.locator(`[data-me="${org.users.admin!.email}"]`).waitFor()
  })

  it('creates a SCRIPT automation, showing the server validation next to the field', async () => {
    await page.click('nav >> text=Automations')
    await page.click('text=New automation')
    await page.waitForURL(/\/automations\/new/)
    await page.fill('input[name=name]', 'Nightly export')
    await page.fill(
      'textarea[name=description]',
      'Extracts yesterday’s orders and loads them into the warehouse.',
    )
    await fillEditor(page, 'config.code', '')
    await page.click('[data-action=save]')
    await expect
      .poll(() => page.locator('[data-field-error="config.code"]').textContent())
      .toContain('the script is empty')
    await fillEditor(page, 'config.code', SLOW_SCRIPT)
    await page.click('[data-action=save]')
    await page.waitForURL(/\/automations\/[0-9a-f-]{36}$/)
    automationId = page.url().split('/').at(-1)!
    await expect.poll(() => page.locator('[data-automation-name]').textContent()).toBe('Nightly export')
    await screenshot(page, 'web-automation-configuration')
  })

  it('runs it and shows SUCCEEDED and its log lines without a reload', async () => {
    await page.click('[data-action=run]')
    await page.waitForURL(/\/runs\/\d+$/)
    // A full reload would drop this marker.
    await page.evaluate(() => Object.assign(window, { __noReload: true }))
    const header = page.locator('.page-header [data-run-state]')
    const firstState = await header.getAttribute('data-run-state')
    expect(['QUEUED', 'RUNNING']).toContain(firstState)
    await page.locator('[data-log-line]', { hasText: 'step one: extracting' }).waitFor({ timeout: 20_000 })
    await page.locator('[data-log-line]', { hasText: 'step two: loading' }).waitFor({ timeout: 20_000 })
    await page.locator('.page-header [data-run-state="SUCCEEDED"]').waitFor({ timeout: 20_000 })
    await page.getByText('"rows": 42').waitFor()
    expect(await page.evaluate(() => (window as { __noReload?: boolean }).__noReload)).toBe(true)
    await screenshot(page, 'web-run-detail')
  })

  it('lists runs live: a run started elsewhere appears and finishes without a reload', async () => {
    await page.click('nav >> text=Runs')
    await page.waitForURL(/\/runs$/)
    await page.evaluate(() => Object.assign(window, { __noReload: true }))
    await waitForLive(page)
    const runId = await runAutomation(s, adminToken, automationId)
    await page.locator(`[data-run-id="${runId}"]`).waitFor({ timeout: 20_000 })
    await page.locator(`[data-run-id="${runId}"][data-run-state="SUCCEEDED"]`).waitFor({ timeout: 20_000 })
    expect(await page.evaluate(() => (window as { __noReload?: boolean }).__noReload)).toBe(true)
    await screenshot(page, 'web-runs')
  })

  it('shows the last runs of an automation with a duration chart', async () => {
    await page.goto(`${s.url}/automations/${automationId}/runs`)
    await page.locator('[data-chart=durations] canvas').waitFor()
    await screenshot(page, 'web-automation-last-runs')
    await page.click('text=Execution')
    await page.getByRole('heading', { name: 'Execution settings' }).waitFor()
    await screenshot(page, 'web-automation-execution')
  })

  it('draws the steps of a chain on its run page', async () => {
    quickId = await createAutomation(s, adminToken, {
      name: 'Refresh cache',
      kind: 'SCRIPT',
      config: { code: "console.log('cache refreshed')" },
    })
    const chain = await createAutomation(s, adminToken, {
      name: 'Nightly pipeline',
      kind: 'CHAIN',
      config: { children: [quickId, automationId] },
    })
    const runId = await runAutomation(s, adminToken, chain)
    await page.goto(`${s.url}/runs/${runId}`)
    await page
      .locator('[data-timeline] [data-step="1"][data-run-state="SUCCEEDED"]')
      .waitFor({ timeout: 30_000 })
    await page.locator('.page-header [data-run-state="SUCCEEDED"]').waitFor({ timeout: 20_000 })
    await screenshot(page, 'web-run-chain')
    await page.goto(`${s.url}/automations/${chain}`)
    await page.locator('[data-child]').nth(1).waitFor()
    await screenshot(page, 'web-automation-chain-config')
    await page.goto(`${s.url}/automations`)
    await page.locator('[data-automation="Nightly pipeline"] [data-state="SUCCEEDED"]').waitFor()
    await screenshot(page, 'web-automations')
  })

  it('shows who holds a mutex and who waits, live', async () => {
    const locked = await createAutomation(s, adminToken, {
      name: 'Warehouse load',
      kind: 'SCRIPT',
      config: { code: 'await new Promise((r) => setTimeout(r, 2500))' },
      mutex: { name: 'warehouse', policy: 'QUEUE' },
    })
    await page.goto(`${s.url}/mutexes`)
    await waitForLive(page)
    const runs = [
      await runAutomation(s, adminToken, locked),
      await runAutomation(s, adminToken, locked),
      await runAutomation(s, adminToken, locked),
    ]
    const card = page.locator('[data-mutex=warehouse]')
    await card.locator('.pos', { hasText: '#2' }).waitFor({ timeout: 20_000 })
    // Which automations use the mutex, beside who holds it.
    expect(await card.locator('[data-used-by] a').allTextContents()).toEqual(['Warehouse load'])
    await screenshot(page, 'web-mutexes')
    await card.getByText('No run is waiting.').waitFor({ timeout: 30_000 })
    for (const id of runs) expect((await waitForRun(s, adminToken, id)).state).toBe('SUCCEEDED')
  })

  it('administers users, folder grants, API tokens and embed tokens', async () => {
    await s.gql('mutation { createFolder(name: "Finance") { __typename } }', {}, { token: adminToken })
    await page.goto(`${s.url}/admin/users`)
    await page.locator('[data-table=users]').getByText(org.users.viewer!.email).waitFor()
    await screenshot(page, 'web-admin-users')
    await page.goto(`${s.url}/admin/folders`)
    const finance = page.locator('[data-folder=Finance]')
    await finance.locator('select[aria-label=Who]').selectOption(`role:EDITOR`)
    await finance.locator('select[aria-label=Permission]').selectOption('RUN')
    await finance.getByRole('button', { name: 'Grant' }).click()
    await finance.getByRole('cell', { name: 'every editor' }).waitFor()
    await screenshot(page, 'web-admin-folders')
    await page.goto(`${s.url}/admin/api-tokens`)
    await page.fill('form[aria-label="New API token"] input[required]', 'CI pipeline')
    await page.click('text=Create token')
    const secret = await page.locator('[data-secret]').textContent()
    expect(secret?.length).toBeGreaterThan(20)
    await screenshot(page, 'web-admin-api-tokens')
    // Only automations any user may run can be embedded: turn that on in the Execution tab.
    await page.goto(`${s.url}/automations/${quickId}/execution`)
    await page.getByLabel('Allow all users of the organization to run it').check()
    await page.click('text=Save settings')
    await page.getByText('Saved as version 2.').waitFor()
    await page.goto(`${s.url}/admin/embed-tokens`)
    await page.fill('form[aria-label="New embed token"] input[required]', 'Sales dashboard')
    await page.fill(
      'form[aria-label="New embed token"] input[placeholder^="https"]',
      'https://bi.example.com',
    )
    await page.selectOption('select[multiple]', [quickId])
    await page.click('text=Create token')
    await page.locator('[data-table=embed-tokens]').getByText('Sales dashboard').waitFor()
    expect(await page.locator('[data-snippet]').textContent()).toContain(
      `<run-button automation="${quickId}"`,
    )
    await screenshot(page, 'web-admin-embed-tokens')
  })

  it('lets a VIEWER look but not edit or run, and the server refuses too', async () => {
    const viewerToken = await s.login(org.users.viewer!.email, org.users.viewer!.password)
    const viewer = await signedInContext(browser, s.url, viewerToken)
    const vp = await viewer.newPage()
    await vp.goto(`${s.url}/automations`)
    await vp.locator('[data-automation="Nightly export"]').waitFor()
    expect(await vp.getByText('New automation').count()).toBe(0)
    expect(await vp.locator('[data-automation="Nightly export"] [data-action=run]').count()).toBe(0)
    await vp.goto(`${s.url}/automations/${automationId}`)
    await vp.getByText('You can view this automation but not change it.').waitFor()
    expect(await vp.locator('[data-action=save]').count()).toBe(0)
    expect(await vp.locator('[data-action=run]').count()).toBe(0)
    expect(await vp.locator('input[name=name]').isDisabled()).toBe(true)
    expect(
      await vp
        .locator('[data-editor="config.code"][data-ready=true] .cm-content')
        .getAttribute('contenteditable'),
    ).toBe('false')
    await screenshot(vp, 'web-automation-viewer')
    await viewer.close()

    const update = await s.gql<{ updateAutomation: { __typename: string } }>(
      'mutation($id: ID!, $i: AutomationInput!) { updateAutomation(id: $id, input: $i) { __typename } }',
      { id: automationId, i: { name: 'hijacked', kind: 'NOOP', config: {} } },
      { token: viewerToken },
    )
    expect(update.data?.updateAutomation.__typename).toBe('ForbiddenError')
    const run = await s.gql<{ runAutomation: { __typename: string } }>(
      'mutation($id: ID!) { runAutomation(id: $id) { __typename } }',
      { id: automationId },
      { token: viewerToken },
    )
    expect(run.data?.runAutomation.__typename).toBe('ForbiddenError')
  })

  it('ships at most 150 KB of gzipped JavaScript on the runs page', async () => {
    const fresh = await signedInContext(browser, s.url, adminToken)
    const weight = await weighScripts({
      context: fresh,
      url: `${s.url}/runs`,
      ready: (p) => p.locator('[data-table=runs]').waitFor(),
      // A class name only uPlot's code contains: the chart library must not load here.
      markers: ['u-over'],
    })
    await fresh.close()
    writeFileSync(join(ARTIFACTS, 'web-runs-page-js.json'), `${JSON.stringify(weight, null, 2)}\n`)
    console.log(
      `runs page JavaScript: ${weight.files.length} files, ${(weight.totalBytes / 1024).toFixed(1)} KB, ${(weight.totalGzip / 1024).toFixed(1)} KB gzip`,
    )
    expect(weight.files.filter((f) => f.found.length > 0)).toEqual([])
    expect(weight.totalGzip).toBeLessThanOrEqual(RUNS_PAGE_BUDGET)
  })
})
