import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'
import { ensureWebBuild, launchChromium, screenshot, signedInContext } from './browser'

let s: TestServer
let org: TestOrg
let browser: Browser
let context: BrowserContext
let page: Page
let token: string
let automationId: string

const UPDATE = `mutation($id: ID!, $i: AutomationInput!) { updateAutomation(id: $id, input: $i) {
  __typename ... on Error { message } } }`

const definition = (statement: string, timeoutMs: number) => ({
  name: 'Nightly load',
  kind: 'SQL',
  config: { statement },
  timeoutMs,
})

beforeAll(async () => {
  ensureWebBuild()
  s = await startTestServer()
  org = await createOrg(s.db)
  token = await s.login(org.users.editor!.email, org.users.editor!.password)
  automationId = await createAutomation(s, token, definition('select 1 as n', 60_000))
  for (const [sql, t] of [
    ['select 2 as n', 60_000],
    ['select 2 as n', 120_000],
  ] as const) {
    const r = await s.gql<{ updateAutomation: { __typename: string } }>(
      UPDATE,
      { id: automationId, i: definition(sql, t) },
      { token },
    )
    expect(r.data?.updateAutomation.__typename).toBe('UpdateAutomationSuccess')
  }
  browser = await launchChromium()
  context = await signedInContext(browser, s.url, token)
  page = await context.newPage()
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await s?.stop()
})

const cellsOf = (p: Page, side: 'left' | 'right', change: string) =>
  p.locator(`[data-diff] tr[data-change=${change}] td.code.${side}`).allTextContents()

describe('the History tab', () => {
  it('lists every version and shows the latest change side by side', async () => {
    await page.goto(`${s.url}/automations/${automationId}/history`)
    const rows = page.locator('[data-table=versions] tbody tr')
    await rows.first().waitFor()
    expect(await rows.count()).toBe(3)
    expect(await rows.first().textContent()).toContain(org.users.editor!.email)
    // Default: v2 against v3, where only the timeout changed.
    expect(await cellsOf(page, 'left', 'changed')).toEqual(['  "timeoutMs": 60000'])
    expect(await cellsOf(page, 'right', 'changed')).toEqual(['  "timeoutMs": 120000'])
    await screenshot(page, 'automation-history')
  })

  it('compares any two versions, from a link that keeps the choice', async () => {
    await page.selectOption('[data-compare=from]', '1')
    await page.waitForURL(/from=1/)
    await expect.poll(() => cellsOf(page, 'left', 'changed')).toContain('    "statement": "select 1 as n",')
    expect(await cellsOf(page, 'right', 'changed')).toContain('    "statement": "select 2 as n",')
    const shared = page.url()
    const other = await context.newPage()
    await other.goto(shared)
    await expect.poll(() => cellsOf(other, 'left', 'changed')).toContain('    "statement": "select 1 as n",')
    await other.close()
  })

  it('restores an old version as a new one', async () => {
    await page.locator('[data-version="1"] button', { hasText: 'Restore v1' }).click()
    await expect.poll(() => page.locator('[data-restore-message]').textContent()).toBe('Restored v1 as v4.')
    await expect.poll(() => page.locator('[data-table=versions] tbody tr').count()).toBe(4)
    // The header's badge follows, and v1 against v4 is the same definition.
    await expect
      .poll(() => page.locator('.page-header .pill', { hasText: /^v\d+$/ }).textContent())
      .toBe('v4')
    await page.selectOption('[data-compare=from]', '1')
    await expect.poll(() => page.locator('[data-diff-summary]').textContent()).toContain('the same')
    const r = await s.gql<{
      automation: { version: number; config: { statement: string }; timeoutMs: number }
    }>(
      'query($id: ID!) { automation(id: $id) { version config timeoutMs } }',
      { id: automationId },
      { token },
    )
    expect(r.data!.automation).toMatchObject({
      version: 4,
      config: { statement: 'select 1 as n' },
      timeoutMs: 60_000,
    })
    await screenshot(page, 'automation-history-restored')
  })
})
