import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'
import { ensureWebBuild, launchChromium, screenshot, signedInContext } from './browser'

let s: TestServer
let org: TestOrg
let browser: Browser

beforeAll(async () => {
  ensureWebBuild()
  s = await startTestServer()
  org = await createOrg(s.db)
  browser = await launchChromium()
}, 240_000)
afterAll(async () => {
  await browser?.close()
  await s?.stop()
})

describe('inviting a user from the dashboard', () => {
  it('the admin gets a one-time link; the invitee chooses a password there and lands signed in', async () => {
    const adminToken = await s.login(org.users.admin!.email, org.users.admin!.password)
    const admin = await (await signedInContext(browser, s.url, adminToken)).newPage()
    await admin.goto(`${s.url}/admin/users`)
    const form = admin.locator('form[aria-label="Invite a user"]')
    await form.locator('input[type=email]').fill('newcomer@example.test')
    await form.locator('input:not([type])').first().fill('Newcomer')
    await form.locator('select').selectOption('EDITOR')
    await form.locator('[data-action=add-user]').click()
    const link = (await admin.locator('[data-secret]').textContent())!
    expect(link).toMatch(new RegExp(`^${s.url}/invite/syi_`))
    await admin.locator('[data-table=users]').getByText('newcomer@example.test').waitFor()
    await screenshot(admin, 'web-admin-invite')

    // The invitee has no session: a fresh browser context.
    const invitee = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage()
    await invitee.goto(link)
    await invitee.locator('input[name=password]').fill('my own password')
    await invitee.locator('input[name=repeat]').fill('not the same')
    await invitee.getByRole('button', { name: 'Join' }).click()
    await invitee.getByRole('alert').getByText('The two passwords differ.').waitFor()
    await screenshot(invitee, 'web-invite')
    await invitee.locator('input[name=repeat]').fill('my own password')
    await invitee.getByRole('button', { name: 'Join' }).click()
    await invitee.waitForURL(`${s.url}/automations`)
    await invitee.locator('[data-me="newcomer@example.test"]').waitFor()

    // The link is spent: opening it again says so, and does not sign anyone in.
    const again = await (await browser.newContext()).newPage()
    await again.goto(link)
    await again.locator('input[name=password]').fill('another password')
    await again.locator('input[name=repeat]').fill('another password')
    await again.getByRole('button', { name: 'Join' }).click()
    await again
      .getByRole('alert')
      .getByText(/unknown, already used or expired/)
      .waitFor()
    expect(again.url()).toBe(link)
  })
})
