import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'
import { ensureWebBuild, launchChromium, screenshot, signedInContext } from './browser'

let s: TestServer
let org: TestOrg
let browser: Browser
let editor: BrowserContext
let page: Page
let editorToken: string
let automationId: string

const TRIGGERS = `query($id: ID!) { automation(id: $id) { autoTriggers triggers { id type enabled config nextFireTimes(count: 2) } } }`

interface TriggerRow {
  id: string
  type: string
  enabled: boolean
  config: Record<string, unknown>
  nextFireTimes: string[]
}

async function triggersOf(id: string): Promise<{ autoTriggers: boolean; triggers: TriggerRow[] }> {
  const r = await s.gql<{ automation: { autoTriggers: boolean; triggers: TriggerRow[] } }>(
    TRIGGERS,
    { id },
    { token: editorToken },
  )
  return r.data!.automation
}

/** How the dashboard prints a time (format.ts `dateTime`), computed in the page's own locale and zone. */
const shown = (p: Page, iso: string) =>
  p.evaluate(
    (t) => new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(t)),
    iso,
  )

beforeAll(async () => {
  ensureWebBuild()
  s = await startTestServer()
  org = await createOrg(s.db)
  editorToken = await s.login(org.users.editor!.email, org.users.editor!.password)
  automationId = await createAutomation(s, editorToken, {
    name: 'Hourly sync',
    kind: 'SCRIPT',
    config: { code: "setOutput('day', params.day ?? null)" },
    parameters: [{ name: 'day', type: 'STRING', default: 'today' }],
  })
  browser = await launchChromium()
  editor = await signedInContext(browser, s.url, editorToken)
  page = await editor.newPage()
  // Deleting and rotating ask for confirmation.
  page.on('dialog', (d) => void d.accept())
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await s?.stop()
})

describe('triggers in Chromium', () => {
  it('shows the server message next to the cron field, then creates a CRON trigger and its next fire time', async () => {
    await page.goto(`${s.url}/automations/${automationId}/execution`)
    const form = page.locator('[data-trigger-form]')
    await form.locator('select[name=type]').selectOption('CRON')
    await form.locator('input[name="config.cron"]').fill('*/61 * * * *')
    await form.locator('[data-action=create-trigger]').click()
    await expect
      .poll(() => form.locator('[data-field-error="config.cron"]').textContent())
      .toContain('invalid cron "*/61 * * * *"')
    expect(await form.locator('input[name="config.cron"]').getAttribute('aria-invalid')).toBe('true')
    expect((await triggersOf(automationId)).triggers).toEqual([])

    await form.locator('input[name="config.cron"]').fill('30 6 * * *')
    await form.locator('input[name="config.timezone"]').fill('Europe/Paris')
    await form.locator('select[name="config.missedTickPolicy"]').selectOption('ALL')
    await form.locator('select[name="config.overlapPolicy"]').selectOption('QUEUE')
    // The preview asks the server (cronPreview) while the user types.
    await form.locator('[data-cron-preview] .pill').first().waitFor()
    await form.locator('[data-action=create-trigger]').click()
    const row = page.locator('[data-trigger-type=CRON]')
    await row.waitFor()
    expect(await form.locator('[data-field-error]').count()).toBe(0)

    const [saved] = (await triggersOf(automationId)).triggers
    expect(saved).toMatchObject({
      type: 'CRON',
      enabled: true,
      config: {
        cron: '30 6 * * *',
        timezone: 'Europe/Paris',
        missedTickPolicy: 'ALL',
        overlapPolicy: 'QUEUE',
      },
    })
    const next = saved!.nextFireTimes[0]!
    // 06:30 in Paris is 05:30 UTC in winter, 04:30 UTC in summer.
    expect(next).toMatch(/T0[45]:30:00/)
    expect(new Date(next).getTime()).toBeGreaterThan(Date.now())
    expect(await row.locator('[data-next-fire] div').first().textContent()).toBe(await shown(page, next))
    expect(await row.textContent()).toContain('30 6 * * * (Europe/Paris)')
    await screenshot(page, 'web-automation-triggers')

    // The automations list shows when it runs next, the full time on hover.
    await page.goto(`${s.url}/automations`)
    const cell = page.locator('[data-automation="Hourly sync"] [data-next-run] span')
    await expect.poll(() => cell.textContent()).toMatch(/^in \d+ (hr|min)/)
    expect(await cell.getAttribute('title')).toBe(await shown(page, next))
    await page.goto(`${s.url}/automations/${automationId}/execution`)
  })

  it('disables a trigger, switches auto-triggers off and on, and creates the other types from the form', async () => {
    const row = page.locator('[data-trigger-type=CRON]')
    await row.getByLabel('Enabled').uncheck()
    await expect.poll(async () => (await triggersOf(automationId)).triggers[0]?.enabled).toBe(false)
    // The page's periodic refresh may still be answering with the state from before the click:
    // wait until the checkbox shows the stored state before clicking it again.
    await expect.poll(() => row.getByLabel('Enabled').isChecked(), { timeout: 10_000 }).toBe(false)
    await page.waitForTimeout(500)
    await expect.poll(() => row.getByLabel('Enabled').isChecked()).toBe(false)
    await row.getByLabel('Enabled').check()
    await expect.poll(async () => (await triggersOf(automationId)).triggers[0]?.enabled).toBe(true)

    await page.locator('[data-action=auto-triggers]').uncheck()
    await page.getByText('Auto-triggers are off').waitFor()
    expect((await triggersOf(automationId)).autoTriggers).toBe(false)
    await page.locator('[data-action=auto-triggers]').check()
    await expect.poll(async () => (await triggersOf(automationId)).autoTriggers).toBe(true)

    const other = await createAutomation(s, editorToken, { name: 'Load orders', kind: 'NOOP', config: {} })
    await page.reload()
    const form = page.locator('[data-trigger-form]')
    await form.locator('select[name=type]').selectOption('AFTER_AUTOMATION')
    await form.locator('select[name="config.automationId"]').selectOption({ label: 'Load orders' })
    await form.locator('select[name="config.on"]').selectOption('ANY')
    await form.locator('textarea[name=parameters]').fill('{"day": "yesterday"}')
    await form.locator('[data-action=create-trigger]').click()
    await page
      .locator('[data-trigger-type=AFTER_AUTOMATION]', { hasText: 'after Load orders on ANY' })
      .waitFor()

    await form.locator('select[name=type]').selectOption('SQL_CHANGE')
    await form.locator('input[name="config.intervalSeconds"]').fill('')
    await form.locator('[data-action=create-trigger]').click()
    await form.locator('[data-field-error="config.intervalSeconds"]').waitFor()

    const types = (await triggersOf(automationId)).triggers.map((t) => t.type).sort()
    expect(types).toEqual(['AFTER_AUTOMATION', 'CRON'])

    // The followed automation lists it on its Usage tab.
    await page.goto(`${s.url}/automations/${other}/usage`)
    await page.locator('[data-table=followers]').getByText('Hourly sync').waitFor()
    expect(await page.locator('[data-table=followers]').textContent()).toContain('ANY')
    await screenshot(page, 'web-automation-usage')
  })

  it('records skipped ticks of an overlapping every-second schedule and deletes the trigger', async () => {
    const slow = await createAutomation(s, editorToken, {
      name: 'Slow export',
      kind: 'SCRIPT',
      config: { code: 'await new Promise((r) => setTimeout(r, 2500))' },
    })
    await s.gql(
      'mutation($a: ID!, $i: TriggerInput!) { createTrigger(automationId: $a, input: $i) { __typename } }',
      { a: slow, i: { type: 'CRON', config: { cron: '* * * * * *', overlapPolicy: 'SKIP' } } },
      { token: editorToken },
    )
    await page.goto(`${s.url}/automations/${slow}/execution`)
    // Ticks come every second while the first run takes 2.5 s: the next ones are skipped and recorded.
    await expect
      .poll(
        async () => {
          await page.reload()
          await page.locator('[data-table=trigger-events]').waitFor()
          return page.locator('[data-trigger-event=SKIPPED]').count()
        },
        { timeout: 20_000, interval: 1000 },
      )
      .toBeGreaterThan(0)
    expect(await page.locator('[data-trigger-event=SKIPPED]').first().textContent()).toContain('CRON')
    await screenshot(page, 'web-automation-trigger-events')
    await page.locator('[data-trigger-type=CRON] button', { hasText: 'Delete' }).click()
    await page.getByText('No trigger: runs start only by hand').waitFor()
    expect((await triggersOf(slow)).triggers).toEqual([])
  })

  it('creates and rotates the webhook, and the shown URL starts a run', async () => {
    await page.goto(`${s.url}/automations/${automationId}/webhook`)
    await page.locator('[data-action=create-webhook]').click()
    const urlBox = page.locator('[data-webhook-url]')
    const first = (await urlBox.textContent())!.replace(/^POST /, '')
    expect(first).toMatch(new RegExp(`^${s.url}/hooks/syw_`))
    expect(await page.locator('[data-curl]').textContent()).toContain(`curl -s -X POST '${first}?wait=30'`)

    await page.locator('[data-action=rotate]').click()
    await expect.poll(async () => (await urlBox.textContent())!.replace(/^POST /, '')).not.toBe(first)
    const rotated = (await urlBox.textContent())!.replace(/^POST /, '')
    expect(rotated).toMatch(/\/hooks\/syw_/)
    expect(await page.locator('[data-curl]').textContent()).toContain(`'${rotated}?wait=30'`)
    expect(await page.locator('[data-curl]').textContent()).toContain(`-d '{"day":"today"}'`)
    await screenshot(page, 'web-automation-webhook')

    const old = await fetch(first, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(old.status).toBe(404)
    const res = await fetch(`${rotated}?wait=20`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ day: '2026-11-29' }),
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { runId: string; state: string; outputs: unknown }
    expect(body).toMatchObject({ state: 'SUCCEEDED', outputs: { day: '2026-11-29' } })

    await page.goto(`${s.url}/automations/${automationId}/runs`)
    const run = page.locator(`[data-run-id="${body.runId}"]`)
    await run.waitFor()
    expect(await run.textContent()).toContain('WEBHOOK')
    // After a reload the secret is gone: only its prefix is shown.
    await page.goto(`${s.url}/automations/${automationId}/webhook`)
    const masked = await page.locator('[data-webhook-masked]').textContent()
    expect(masked).toMatch(new RegExp(`^POST ${s.url}/hooks/syw_\\S+…$`))
    expect(rotated.startsWith(masked!.slice(5, -1))).toBe(true)
    expect(masked).not.toContain(rotated)
  })

  it('hides trigger and webhook controls from a VIEWER', async () => {
    const viewerToken = await s.login(org.users.viewer!.email, org.users.viewer!.password)
    const viewer = await signedInContext(browser, s.url, viewerToken)
    const vp = await viewer.newPage()
    await vp.goto(`${s.url}/automations/${automationId}/execution`)
    await vp.locator('[data-trigger-type=CRON]').waitFor()
    expect(await vp.locator('[data-trigger-form]').count()).toBe(0)
    expect(await vp.locator('[data-table=triggers] button').count()).toBe(0)
    expect(await vp.locator('[data-table=triggers] input[type=checkbox]').count()).toBe(0)
    expect(await vp.locator('[data-action=auto-triggers]').isDisabled()).toBe(true)
    await vp.goto(`${s.url}/automations/${automationId}/webhook`)
    await vp.locator('[data-webhook-masked]').waitFor()
    expect(await vp.locator('[data-action=rotate]').count()).toBe(0)
    await viewer.close()
  })
})
