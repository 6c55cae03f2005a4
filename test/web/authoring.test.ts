import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RUN_DETAIL, createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'
import { ensureWebBuild, fillEditor, launchChromium, screenshot, signedInContext } from './browser'

let s: TestServer
let org: TestOrg
let browser: Browser
let context: BrowserContext
let page: Page
let token: string

const AUTOMATION = `query($id: ID!) { automation(id: $id) { name config timeoutMs retry { maxAttempts backoffMs }
  mutex { name policy } allowAllUsersToRun } }`

beforeAll(async () => {
  ensureWebBuild()
  s = await startTestServer()
  org = await createOrg(s.db)
  token = await s.login(org.users.editor!.email, org.users.editor!.password)
  browser = await launchChromium()
  context = await signedInContext(browser, s.url, token)
  page = await context.newPage()
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await s?.stop()
})

describe('authoring in Chromium', () => {
  it('creates an automation with its execution settings in the create form, one timeout', async () => {
    await page.goto(`${s.url}/automations/new`)
    const execution = page.locator('details[data-section=execution]')
    await execution.waitFor()
    // Collapsed until asked for; a script has no timeout of its own in the form.
    expect(await execution.getAttribute('open')).toBeNull()
    expect(await page.getByText('Script timeout').count()).toBe(0)
    await page.fill('input[name=name]', 'Hourly export')
    await fillEditor(page, 'config.code', "log('exporting')")
    await execution.locator('summary').click()
    await page.fill('input[name=timeoutMs]', '120000')
    await page.fill('input[name="retry.maxAttempts"]', '3')
    await page.fill('input[name="retry.backoffMs"]', '500')
    await page.fill('input[name="mutex.name"]', 'exports')
    await page.selectOption('select[name="mutex.policy"]', 'SKIP')
    await page.check('input[name=allowAllUsersToRun]')
    await screenshot(page, 'web-create-with-execution')
    await page.click('[data-action=save]')
    await page.waitForURL(/\/automations\/[0-9a-f-]{36}$/)
    const id = page.url().split('/').at(-1)!
    const r = await s.gql<{ automation: Record<string, unknown> }>(AUTOMATION, { id }, { token })
    expect(r.data!.automation).toMatchObject({
      name: 'Hourly export',
      timeoutMs: 120_000,
      retry: { maxAttempts: 3, backoffMs: 500 },
      mutex: { name: 'exports', policy: 'SKIP' },
      allowAllUsersToRun: true,
      // The script's own limit follows the automation's timeout.
      config: { code: "log('exporting')", timeoutMs: 120_000 },
    })
  })

  it('opens the execution settings by itself when one of them is refused', async () => {
    await page.goto(`${s.url}/automations/new`)
    await page.fill('input[name=name]', 'Bad timeout')
    await fillEditor(page, 'config.code', "log('x')")
    await page.locator('details[data-section=execution] summary').click()
    await page.fill('input[name=timeoutMs]', '5')
    await page.locator('details[data-section=execution] summary').click()
    await page.click('[data-action=save]')
    await page.locator('[data-field-error=timeoutMs]').waitFor()
    expect(await page.locator('details[data-section=execution]').getAttribute('open')).not.toBeNull()
  })

  it('edits code in CodeMirror: line numbers, highlighting, the script API and the catalog in completion', async () => {
    // A storage for SQL completion to offer.
    const made = await createAutomation(s, token, {
      name: 'Make sales',
      kind: 'SQL',
      config: { statement: 'create table sales_daily (day date, amount integer)' },
    })
    const run = await runAutomation(s, token, made)
    expect((await waitForRun(s, token, run)).state).toBe('SUCCEEDED')
    await page.goto(`${s.url}/automations/new`)
    await fillEditor(page, 'config.code', 'setO')
    const editor = page.locator('[data-editor="config.code"]')
    expect(await editor.locator('.cm-lineNumbers').count()).toBe(1)
    await page.keyboard.press('End')
    await page.keyboard.press('Control+Space')
    const options = page.locator('.cm-tooltip-autocomplete li')
    await options.first().waitFor()
    expect(await options.allTextContents()).toContainEqual(expect.stringContaining('setOutput'))
    // CodeMirror ignores keys for 75 ms after the list opens (autocompletion's interactionDelay,
    // so a key typed before the user saw the list is not taken as a choice): an Enter sooner
    // would be a newline. Seen in CI as 'setO' with the list still open.
    await page.waitForTimeout(150)
    await page.keyboard.press('Enter')
    await expect.poll(() => editor.locator('.cm-content').textContent()).toBe('setOutput')
    // The hint names the same API the completion offers.
    expect(await page.locator('[data-hint=script-api]').textContent()).toContain('log(...values)')
    await screenshot(page, 'web-editor-script')
    await page.selectOption('select[name=kind]', 'SQL')
    await fillEditor(page, 'config.statement', 'select amount from sales_d')
    await page.keyboard.press('End')
    await page.keyboard.press('Control+Space')
    await options.first().waitFor()
    expect(await options.allTextContents()).toContainEqual(expect.stringContaining('sales_daily'))
    // Keywords are highlighted (a styled span), not plain text.
    expect(await page.locator('[data-editor="config.statement"] .cm-content span').count()).toBeGreaterThan(0)
    await screenshot(page, 'web-editor-sql')
  })

  it('shows TypeScript type errors after a save, with their line, as warnings', async () => {
    const id = await createAutomation(s, token, {
      name: 'Typed script',
      kind: 'SCRIPT',
      config: { language: 'typescript', code: "setOutput('n', 1)\nconst n: number = 'one'" },
    })
    await page.goto(`${s.url}/automations/${id}`)
    const warnings = page.locator('[data-code-warnings]')
    await warnings.waitFor({ timeout: 30_000 })
    expect(await warnings.textContent()).toContain("line 2: Type 'string' is not assignable to type 'number'")
    await screenshot(page, 'web-editor-type-warnings')
    await fillEditor(page, 'config.code', "setOutput('n', 1)\nconst n: number = 1")
    await page.click('[data-action=save]')
    await page.getByText('Saved.').waitFor()
    await expect.poll(() => warnings.count(), { timeout: 30_000 }).toBe(0)
  })

  it('runs from a typed form whose link carries its values', async () => {
    const id = await createAutomation(s, token, {
      name: 'Regional load',
      kind: 'SCRIPT',
      config: { code: "setOutput('region', params.region)" },
      parameters: [
        { name: 'region', type: 'STRING', required: true },
        { name: 'day', type: 'DATE', default: '2026-01-15' },
      ],
    })
    await page.goto(`${s.url}/automations/${id}`)
    await page.click('[data-action=run-form]')
    await page.waitForURL(new RegExp(`/automations/${id}/run`))
    await page.goto(`${s.url}/automations/${id}/run?region=eu`)
    const region = page.locator('input[name="param.region"]')
    await region.waitFor()
    expect(await region.inputValue()).toBe('eu')
    expect(await page.locator('input[name="param.day"]').getAttribute('type')).toBe('date')
    expect(await page.locator('input[name="param.day"]').inputValue()).toBe('2026-01-15')
    await region.fill('us')
    await expect.poll(() => page.url()).toContain('region=us')
    await expect.poll(() => page.locator('[data-share-link]').inputValue()).toBe(page.url())
    await screenshot(page, 'web-run-form')
    await page.click('[data-action=run]')
    await page.waitForURL(/\/runs\/\d+$/)
    const runId = page.url().split('/').at(-1)!
    const run = await s.gql<{ run: { parameters: Record<string, unknown> } }>(
      RUN_DETAIL,
      { id: runId },
      { token },
    )
    expect(run.data!.run.parameters).toEqual({ region: 'us', day: '2026-01-15' })
  })

  it('runs from the list without leaving it, the row following the run live', async () => {
    await createAutomation(s, token, { name: 'Quick refresh', kind: 'NOOP', config: {} })
    await page.goto(`${s.url}/automations`)
    await page.locator('[data-live=live]').waitFor()
    const row = page.locator('[data-automation="Quick refresh"]')
    await row.locator('[data-action=run]').click()
    await row.locator('[data-state=SUCCEEDED]').waitFor({ timeout: 20_000 })
    expect(new URL(page.url()).pathname).toBe('/automations')
    expect(await row.locator('a[href^="/runs/"]').count()).toBe(1)
    // The row that needs parameters offers the form instead.
    expect(await page.locator('[data-automation="Regional load"] a', { hasText: 'Run…' }).count()).toBe(1)
  })

  it('is usable at 800 px: the sidebar folds into a menu, tables scroll instead of clipping', async () => {
    const narrow = await context.newPage()
    await narrow.setViewportSize({ width: 800, height: 900 })
    await narrow.goto(`${s.url}/automations`)
    await narrow.locator('[data-table=automations]').waitFor()
    expect(await narrow.locator('#main-menu').isVisible()).toBe(false)
    // Nothing pushes the page sideways: the table scrolls within its card.
    expect(await narrow.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(800)
    const button = narrow.locator('[data-automation="Quick refresh"] [data-action=run]')
    await button.scrollIntoViewIfNeeded()
    expect(await button.isVisible()).toBe(true)
    await screenshot(narrow, 'web-automations-800')
    await narrow.click('button.menu')
    await narrow.locator('#main-menu').waitFor()
    await screenshot(narrow, 'web-automations-800-menu')
    await narrow.click('#main-menu >> text=Runs')
    await narrow.waitForURL(/\/runs$/)
    expect(await narrow.locator('#main-menu').isVisible()).toBe(false)
    // The icon is asked from the root on every page (it was /admin/favicon.svg on Admin pages).
    await narrow.goto(`${s.url}/admin/users`)
    expect(await narrow.locator('link[rel=icon]').getAttribute('href')).toBe('/favicon.svg')
    await narrow.close()
  })
})
