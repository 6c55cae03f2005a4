import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'
import { ensureWebBuild, launchChromium, screenshot, signedInContext } from './browser'

// Issue 12, points 8 and 9 in the dashboard: the Secrets and Audit log pages.
let s: TestServer
let org: TestOrg
let browser: Browser
let adminToken: string

beforeAll(async () => {
  ensureWebBuild()
  s = await startTestServer()
  org = await createOrg(s.db)
  browser = await launchChromium()
  adminToken = await s.login(org.users.admin!.email, org.users.admin!.password)
}, 240_000)
afterAll(async () => {
  await browser?.close()
  await s?.stop()
})

describe('the Secrets page', () => {
  it('adds, lists (never the value), shows where a secret is used, rotates and deletes', async () => {
    const page = await (await signedInContext(browser, s.url, adminToken)).newPage()
    await page.goto(`${s.url}/admin/secrets`)
    const form = page.locator('form[aria-label="Save secret"]')
    await form.getByLabel('Name').fill('REPORT_TOKEN')
    await form.getByLabel('Value').fill('rt-9d8c7b6a5f')
    await form.getByLabel('Description').fill('for the report API')
    await form.getByRole('button', { name: 'Save secret' }).click()
    await page.getByRole('status').getByText('Saved REPORT_TOKEN').waitFor()
    const row = page.locator('[data-secret=REPORT_TOKEN]')
    await row.getByText('not used yet').waitFor()
    expect(await page.content()).not.toContain('rt-9d8c7b6a5f')

    // A run that uses it shows up as a usage, and its log shows *** instead of the value.
    const editor = await s.login(org.users.editor!.email, org.users.editor!.password)
    const id = await createAutomation(s, editor, {
      name: 'nightly report',
      kind: 'SCRIPT',
      config: { code: "console.log('using ' + variables.secret.REPORT_TOKEN)" },
    })
    const run = await waitForRun(s, editor, await runAutomation(s, editor, id))
    expect(run.logs.map((l) => l.message)).toContain('using ***')
    await page.reload()
    await row.getByRole('link', { name: 'nightly report' }).waitFor()
    await screenshot(page, 'web-admin-secrets')

    await row.getByRole('button', { name: 'Rotate' }).click()
    expect(await form.getByLabel('Name').inputValue()).toBe('REPORT_TOKEN')
    await form.getByLabel('Value').fill('rt-rotated-1234')
    await form.getByRole('button', { name: 'Save secret' }).click()
    await page.getByRole('status').getByText('Rotated REPORT_TOKEN').waitFor()

    // A bad name is refused next to the field.
    await form.getByLabel('Name').fill('bad-name')
    await form.getByLabel('Value').fill('x')
    await form.getByRole('button', { name: 'Save secret' }).click()
    await form.getByText('must start with a letter').waitFor()

    await row.getByRole('button', { name: 'Delete' }).click()
    await page.getByRole('status').getByText('Deleted REPORT_TOKEN').waitFor()
    await page.getByText('No secrets yet.').waitFor()
  })

  it('is not offered to editors', async () => {
    const editor = await s.login(org.users.editor!.email, org.users.editor!.password)
    const page = await (await signedInContext(browser, s.url, editor)).newPage()
    await page.goto(`${s.url}/admin/api-tokens`)
    await page.getByRole('link', { name: 'API tokens' }).waitFor()
    expect(await page.getByRole('link', { name: 'Secrets' }).count()).toBe(0)
    expect(await page.getByRole('link', { name: 'Audit log' }).count()).toBe(0)
  })
})

describe('the Audit log page', () => {
  it('lists changes and manual runs with who and from where, and filters by action', async () => {
    const page = await (await signedInContext(browser, s.url, adminToken)).newPage()
    await page.goto(`${s.url}/admin/audit`)
    const table = page.locator('[data-table=audit]')
    await table.locator('[data-action=runAutomation]').first().waitFor()
    await table.locator('[data-action=setSecret]').first().waitFor()
    const setRow = table.locator('[data-action=setSecret]').first()
    expect(await setRow.textContent()).toContain(org.users.admin!.email)
    expect(await setRow.textContent()).toContain('"value":"***"')
    expect(await table.textContent()).not.toContain('rt-9d8c7b6a5f')
    expect(await table.textContent()).toContain('127.0.0.1')
    await screenshot(page, 'web-admin-audit')

    await page.getByLabel('Action').fill('createAutomation')
    await page.getByRole('button', { name: 'Filter' }).click()
    await page.waitForURL(/action=createAutomation/)
    await table.locator('[data-action=createAutomation]').first().waitFor()
    expect(await table.locator('[data-action=setSecret]').count()).toBe(0)
    expect(await table.textContent()).toContain(org.users.editor!.email)
  })
})

/** The answer to the Users page's change of a secret manager, once the server has stored it. */
const stored = (page: Page) =>
  page.waitForResponse(
    (r) =>
      r.url().endsWith('/graphql') && (r.request().postData() ?? '').includes('SetSecretManager') && r.ok(),
  )

describe('secret managers', () => {
  it('an admin grants an editor manageSecrets on the Users page; the editor then manages secrets', async () => {
    const editorUser = org.users.editor!
    const admin = await (await signedInContext(browser, s.url, adminToken)).newPage()
    await admin.goto(`${s.url}/admin/users`)
    const box = admin.getByLabel(`${editorUser.email} may manage secrets`)
    expect(await box.isChecked()).toBe(false)
    // The box flips at once; the change is stored when the mutation answers.
    await Promise.all([stored(admin), box.check()])
    // Stored: the box stays checked after a reload.
    await admin.reload()
    await admin.getByLabel(`${editorUser.email} may manage secrets`).waitFor()
    expect(await admin.getByLabel(`${editorUser.email} may manage secrets`).isChecked()).toBe(true)

    const editor = await s.login(editorUser.email, editorUser.password)
    const page = await (await signedInContext(browser, s.url, editor)).newPage()
    await page.goto(`${s.url}/admin/api-tokens`)
    await page.getByRole('link', { name: 'Secrets' }).click()
    const form = page.locator('form[aria-label="Save secret"]')
    await form.getByLabel('Name').fill('EDITOR_TOKEN')
    await form.getByLabel('Value').fill('et-5a4b3c2d1e')
    await form.getByRole('button', { name: 'Save secret' }).click()
    await page.getByRole('status').getByText('Saved EDITOR_TOKEN').waitFor()
    // Where secrets are used stays for admins.
    await page.locator('[data-secret=EDITOR_TOKEN]').getByText('shown to admins').waitFor()
    expect(await page.content()).not.toContain('et-5a4b3c2d1e')

    // Withdrawn: the tab is gone at the next page load, and the API refuses.
    await Promise.all([stored(admin), admin.getByLabel(`${editorUser.email} may manage secrets`).uncheck()])
    const r = await s.gql<{ setSecret: { __typename: string } }>(
      'mutation { setSecret(name: "EDITOR_TOKEN", value: "again-123") { __typename } }',
      {},
      { token: editor },
    )
    expect(r.data!.setSecret.__typename).toBe('ForbiddenError')
    await page.goto(`${s.url}/admin/api-tokens`)
    await page.getByRole('link', { name: 'API tokens' }).waitFor()
    expect(await page.getByRole('link', { name: 'Secrets' }).count()).toBe(0)
  })
})
