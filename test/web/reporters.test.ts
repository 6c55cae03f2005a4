import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { LOOPBACK_EGRESS, type TestServer, startTestServer } from '../helpers/server'
import { type Receiver, startReceiver } from '../reporters/helpers'
import { ensureWebBuild, launchChromium, screenshot, signedInContext } from './browser'

// An admin adds a channel connection and tests it on the Channels page; an editor adds a
// reporter on the automation's Reporters tab (with a preview), and the run page shows the
// message it delivered.
let s: TestServer
let org: TestOrg
let browser: Browser
let adminCtx: BrowserContext
let editorCtx: BrowserContext
let adminPage: Page
let page: Page
let editorToken: string
let automationId: string
let http: Receiver

beforeAll(async () => {
  ensureWebBuild()
  s = await startTestServer({ env: { SWITCHYARD_EGRESS_ALLOW: LOOPBACK_EGRESS } })
  org = await createOrg(s.db)
  editorToken = await s.login(org.users.editor!.email, org.users.editor!.password)
  const adminToken = await s.login(org.users.admin!.email, org.users.admin!.password)
  automationId = await createAutomation(s, editorToken, {
    name: 'Nightly load',
    kind: 'SCRIPT',
    config: { code: "setOutput('rows', 12)" },
  })
  http = await startReceiver()
  browser = await launchChromium()
  adminCtx = await signedInContext(browser, s.url, adminToken)
  editorCtx = await signedInContext(browser, s.url, editorToken)
  adminPage = await adminCtx.newPage()
  page = await editorCtx.newPage()
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await s?.stop()
  await http?.close()
})

describe('reporters in Chromium', () => {
  it('an admin adds a webhook connection and tests it', async () => {
    await adminPage.goto(`${s.url}/admin/channels`)
    const form = adminPage.locator('form[aria-label="Channel connection"]')
    await form.locator('input[name=connection-name]').fill('Team hook')
    await form.locator('select[name=connection-type]').selectOption('WEBHOOK')
    // Power users type the settings as JSON (the fields are the default: authoring-polish.test.ts).
    await form.locator('input[name=connection-config-mode][value=json]').check()
    await form.locator('textarea[name=connection-config]').fill(JSON.stringify({ url: `${http.url}/team` }))
    await form.locator('button[type=submit]').click()
    const row = adminPage.locator('tr[data-connection="Team hook"]')
    await row.waitFor()
    await row.getByRole('button', { name: 'Test connection' }).click()
    await expect.poll(() => adminPage.locator('[data-notice]').textContent()).toContain('Team hook works')
    expect(http.requests.at(-1)!.path).toBe('/team')
    expect(JSON.parse(http.requests.at(-1)!.body)).toMatchObject({ test: true, connection: 'Team hook' })
  })

  it('an editor adds a reporter with a preview, and the run page shows its delivery', async () => {
    await page.goto(`${s.url}/automations/${automationId}/reporters`)
    await page.getByRole('button', { name: 'Add reporter' }).click()
    const form = page.locator('[data-reporter-form]')
    await form.locator('input[name=reporter-name]').fill('Tell the team')
    await form.locator('select[name=reporter-condition]').selectOption('ANY')
    await form
      .locator('textarea[name=reporter-template]')
      .fill(
        '{"automation": {{ automation.name | json }}, "state": {{ run.state | json }}, "rows": {{ outputs.rows | json }}}',
      )
    await form.getByRole('button', { name: 'Preview' }).click()
    await expect
      .poll(() => form.locator('[data-preview-body]').textContent())
      .toBe('{"automation": "Nightly load", "state": "SUCCEEDED", "rows": null}')
    // A template mistake is shown at its line, before saving.
    await form.locator('textarea[name=reporter-template]').fill('{"a": 1,\n "b": {{ run.state | nope }}}')
    await form.getByRole('button', { name: 'Save reporter' }).click()
    await expect.poll(() => form.locator('[data-field-error=template]').textContent()).toContain('line 2')
    await form
      .locator('textarea[name=reporter-template]')
      .fill(
        '{"automation": {{ automation.name | json }}, "state": {{ run.state | json }}, "rows": {{ outputs.rows | json }}}',
      )
    await form.getByRole('button', { name: 'Save reporter' }).click()
    await page.locator('tr[data-reporter="Tell the team"]').waitFor()
    await screenshot(page, 'reporters-tab')

    const before = http.requests.length
    const runId = await runAutomation(s, editorToken, automationId)
    expect((await waitForRun(s, editorToken, runId)).state).toBe('SUCCEEDED')
    await page.goto(`${s.url}/runs/${runId}`)
    const delivery = page.locator('tr[data-delivery="Tell the team"]')
    await expect
      .poll(() => delivery.getAttribute('data-delivery-state'), { timeout: 20_000 })
      .toBe('DELIVERED')
    expect(await delivery.textContent()).toContain('200')
    const got = http.requests.slice(before).filter((r) => r.path === '/team')
    expect(got.map((r) => JSON.parse(r.body))).toEqual([
      { automation: 'Nightly load', state: 'SUCCEEDED', rows: 12 },
    ])
    await screenshot(page, 'run-deliveries')
  })
})
