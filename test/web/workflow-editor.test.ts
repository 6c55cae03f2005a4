import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'
import { runWorkflow, stepOf } from '../workflows/helpers'
import { connectSteps, ensureWebBuild, launchChromium, screenshot, signedInContext } from './browser'

// Issue 14, point 6: forEach, step parameters, saveAs and the workflow's own parameters
// and variables are edited on the graph, not only in the JSON; the server's messages
// land on the step they name.
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
  page = await (await signedInContext(browser, s.url, token)).newPage()
}, 240_000)
afterAll(async () => {
  await browser?.close()
  await s?.stop()
})

const panel = (step: string) => page.locator(`[data-step-panel=${step}]`)
const save = async () => page.locator('[data-action=save-graph]').click()

describe('the workflow editor in Chromium', () => {
  it('sets forEach, a step parameter, saveAs and a workflow parameter and variable; the run follows them', async () => {
    const load = await createAutomation(s, token, {
      name: 'load region',
      kind: 'NOOP',
      parameters: [{ name: 'region', type: 'STRING' }],
      config: {},
    })
    const id = await createAutomation(s, token, {
      name: 'regions',
      kind: 'WORKFLOW',
      config: { steps: [{ name: 'count', sql: { statement: 'select 3 as n' } }] },
    })
    await page.goto(`${s.url}/automations/${id}/graph`)
    await page.locator('[data-workflow-editor] [data-step=count]').waitFor()

    // The workflow's own parameter (a list to fan out over) and a variable.
    const wf = page.locator('[data-workflow-panel]')
    await wf.getByRole('button', { name: 'Add parameter' }).click()
    await wf.getByLabel('Parameter name').fill('regions')
    await wf.getByLabel('Parameter type').selectOption('JSON')
    await wf.getByLabel('Default', { exact: true }).fill('["eu", "us", "ap"]')
    await wf.locator('[data-action=add-variable]').click()
    await wf.locator('[data-variable-name]').fill('note')
    await wf.locator('[data-variable-default]').fill('nightly')

    // The SQL step saves its first value.
    await page.locator('[data-workflow-editor] [data-step=count]').click()
    await panel('count').locator('[data-step-saveas]').check()
    await panel('count').locator('[data-step-saveas-variable]').fill('n')

    // A step per region, two at once, after count.
    await page.locator('[data-new-step-name]').fill('load')
    await page.locator('[data-new-step-automation]').selectOption(load)
    await page.locator('[data-action=add-step]').click()
    await page.locator('[data-workflow-editor] [data-step=load]').waitFor()
    await connectSteps(page, 'count', 'load')
    await page.locator('[data-workflow-editor] [data-step=load]').click()
    await panel('load').locator('[data-step-foreach]').check()
    // First a list no step provides: the server's message appears on the step.
    await panel('load').locator('[data-step-foreach-items]').fill('steps.ghost.outputs.rows')
    await panel('load').locator('[data-step-foreach-concurrency]').fill('2')
    await panel('load').locator('[data-action=add-parameter]').click()
    await panel('load').locator('[data-parameter-name]').fill('region')
    await panel('load').locator('[data-parameter-value]').fill('${item}')
    await panel('load').locator('[data-step-retries]').fill('1')
    await save()
    const issue = panel('load').locator('[data-step-issue]')
    await issue.waitFor()
    expect(await issue.innerText()).toContain('steps.ghost.outputs.rows: there is no step "ghost"')
    await screenshot(page, 'web-workflow-editor-foreach-issue')

    await panel('load').locator('[data-step-foreach-items]').fill('params.regions')
    await save()
    await page.locator('[data-saved]').waitFor()
    await screenshot(page, 'web-workflow-editor-foreach')

    const saved = await s.gql<{
      automation: { parameters: { name: string; type: string; default: unknown }[]; config: unknown }
    }>(
      'query($id: ID!) { automation(id: $id) { parameters { name type default } config } }',
      { id },
      { token },
    )
    expect(saved.data?.automation.parameters).toEqual([
      { name: 'regions', type: 'JSON', default: ['eu', 'us', 'ap'] },
    ])
    expect(saved.data?.automation.config).toMatchObject({
      variables: [{ name: 'note', default: 'nightly' }],
      steps: [
        {
          name: 'count',
          sql: { statement: 'select 3 as n' },
          saveAs: { variable: 'n', value: 'FIRST_VALUE' },
        },
        {
          name: 'load',
          automationId: load,
          forEach: { items: 'params.regions', concurrency: 2 },
          parameters: { region: '${item}' },
          retries: 1,
        },
      ],
      edges: [{ from: 'count', to: 'load', condition: 'SUCCESS' }],
    })

    const run = await runWorkflow(s, token, id)
    expect(run.state).toBe('SUCCEEDED')
    expect(run.outputs?.variables).toEqual({ note: 'nightly', n: 3 })
    const loaded = stepOf(run, 'load')
    expect(loaded.items).toBe(3)
    expect(loaded.runs.map((r) => r.parameters)).toEqual([
      { region: 'eu' },
      { region: 'us' },
      { region: 'ap' },
    ])

    // The run page draws what the editor set: three items of load done.
    await page.goto(`${s.url}/runs/${run.id}`)
    await page.locator('[data-step=load][data-step-state=SUCCEEDED]').waitFor()
    // Polled textContent: a graph node is hidden while svelte-flow measures it (innerText '').
    await expect
      .poll(() => page.locator('[data-step=load]').textContent(), { timeout: 10_000 })
      .toContain('3/3')
    await screenshot(page, 'web-workflow-editor-run')
  })
})
