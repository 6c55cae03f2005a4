import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'
import { connectSteps, ensureWebBuild, launchChromium, screenshot, signedInContext } from './browser'

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
    // From here on every live update redraws the nodes; their edges must stay drawn throughout
    // (a node handed to Svelte Flow without its measured size loses its edges until measured).
    await expect.poll(() => graph.locator('.svelte-flow__edge').count()).toBe(3)
    await page.evaluate(() => {
      const root = document.querySelector('[data-workflow-graph]')!
      const w = window as unknown as { fewestEdges: number }
      w.fewestEdges = root.querySelectorAll('.svelte-flow__edge').length
      new MutationObserver(() => {
        w.fewestEdges = Math.min(w.fewestEdges, root.querySelectorAll('.svelte-flow__edge').length)
      }).observe(root, { childList: true, subtree: true })
    })
    await screenshot(page, 'web-workflow-running')
    await page.locator('[data-step=load][data-step-state=UPSTREAM_FAILED]').waitFor({ timeout: 20_000 })
    await page.locator('[data-step=alert][data-step-state=SUCCEEDED]').waitFor()
    await page.locator('[data-step=check][data-step-state=FAILED]').waitFor()
    // textContent, polled: svelte-flow hides a node (visibility: hidden) while it measures it,
    // and innerText of a hidden node is '' (seen in a CI run before stepNodes kept the sizes).
    await expect
      .poll(() => page.locator('[data-step=load]').textContent(), { timeout: 10_000 })
      .toContain('upstream failed: check FAILED')
    await page.locator('[data-run-state=SUCCEEDED]').first().waitFor({ timeout: 10_000 })
    expect(await graph.locator('.svelte-flow__edge').count()).toBe(3)
    expect(await page.evaluate(() => (window as unknown as { fewestEdges: number }).fewestEdges)).toBe(3)
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

  it('edits a workflow on its graph: add a step, drag an edge, choose its condition, see the server refuse a rule', async () => {
    const ok = await createAutomation(s, token, { name: 'ok2', kind: 'NOOP', config: {} })
    const id = await createAutomation(s, token, {
      name: 'editable',
      kind: 'WORKFLOW',
      config: { steps: [{ name: 'extract', automationId: ok }] },
    })
    await page.goto(`${s.url}/automations/${id}/graph`)
    await page.locator('[data-workflow-editor] [data-step=extract]').waitFor()
    await page.locator('[data-new-step-name]').fill('notify')
    await page.locator('[data-new-step-automation]').selectOption(ok)
    await page.locator('[data-action=add-step]').click()
    await page.locator('[data-workflow-editor] [data-step=notify]').waitFor()
    await connectSteps(page, 'extract', 'notify')
    await page.locator('[data-edge-panel] [data-edge-condition]').selectOption('FAILURE')
    await page.locator('[data-action=save-graph]').click()
    await page.locator('[data-saved]').waitFor()
    const saved = await s.gql<{ automation: { config: { edges: unknown[]; steps: { name: string }[] } } }>(
      'query($id: ID!) { automation(id: $id) { config } }',
      { id },
      { token },
    )
    expect(saved.data?.automation.config.edges).toEqual([
      { from: 'extract', to: 'notify', condition: 'FAILURE' },
    ])
    expect(saved.data?.automation.config.steps.map((x) => x.name)).toEqual(['extract', 'notify'])
    await screenshot(page, 'web-workflow-editor')
    // A rule that can never fire on a root: the server's message appears on the step.
    await page.locator('[data-workflow-editor] [data-step=extract]').click()
    await page.locator('[data-step-panel=extract] [data-step-rule]').selectOption('ONE_FAILED')
    await page.locator('[data-action=save-graph]').click()
    const issue = page.locator('[data-step-panel=extract] [data-step-issue]')
    await issue.waitFor()
    expect(await issue.innerText()).toContain('ONE_FAILED can never fire on a step without incoming edges')
    await screenshot(page, 'web-workflow-editor-issue')
  })
})
