import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'
import { ensureWebBuild, launchChromium, screenshot, signedInContext } from './browser'

let s: TestServer
let org: TestOrg
let browser: Browser
let page: Page
let token: string

beforeAll(async () => {
  ensureWebBuild()
  s = await startTestServer()
  org = await createOrg(s.db)
  token = await s.login(org.users.editor!.email, org.users.editor!.password)
  browser = await launchChromium()
  const context = await signedInContext(browser, s.url, token)
  page = await context.newPage()
}, 240_000)
afterAll(async () => {
  await browser?.close()
  await s?.stop()
})

describe('the workflow graph in Chromium', () => {
  it('draws the steps and edges of a run and follows their states live, with skip reasons', async () => {
    const ok = await createAutomation(s, token, { name: 'ok', kind: 'NOOP', config: {} })
    const gate = await createAutomation(s, token, { name: 'gate', kind: 'NOOP', config: { sleepMs: 2500 } })
    const bad = await createAutomation(s, token, { name: 'bad', kind: 'NOOP', config: { fail: 'no data' } })
    const id = await createAutomation(s, token, {
      name: 'nightly',
      kind: 'WORKFLOW',
      config: {
        steps: [
          { name: 'extract', automationId: gate },
          { name: 'check', automationId: bad },
          { name: 'load', automationId: ok },
          { name: 'alert', automationId: ok },
        ],
        edges: [
          { from: 'extract', to: 'check' },
          { from: 'check', to: 'load' },
          { from: 'check', to: 'alert', condition: 'FAILURE' },
        ],
      },
    })
    const runId = await runAutomation(s, token, id)
    await page.goto(`${s.url}/runs/${runId}`)
    const graph = page.locator('[data-workflow-graph]')
    await graph.waitFor()
    // Live: extract is running while the page is open, then every step settles without a reload.
    await page.locator('[data-step=extract][data-step-state=RUNNING]').waitFor({ timeout: 10_000 })
    await screenshot(page, 'web-workflow-running')
    await page.locator('[data-step=load][data-step-state=UPSTREAM_FAILED]').waitFor({ timeout: 20_000 })
    await page.locator('[data-step=alert][data-step-state=SUCCEEDED]').waitFor()
    await page.locator('[data-step=check][data-step-state=FAILED]').waitFor()
    expect(await page.locator('[data-step=load]').innerText()).toContain('upstream failed: check FAILED')
    expect(await graph.locator('.svelte-flow__edge').count()).toBe(3)
    await screenshot(page, 'web-workflow-done')
    // A step's detail links to its run and log.
    await page.locator('[data-step=check]').click()
    const link = page.locator('[data-step-detail=check] [data-step-run]')
    await link.click()
    await page.waitForURL(/\/runs\/\d+$/)
    await page.getByText('no data').first().waitFor()
    const run = await waitForRun(s, token, runId)
    expect(run.state).toBe('SUCCEEDED')
  })
})
