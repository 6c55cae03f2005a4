import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { LOOPBACK_EGRESS, type TestServer, startTestServer } from '../helpers/server'
import { type SourceDb, createSourceDb } from '../data/source-db'
import { type Receiver, startReceiver } from '../reporters/helpers'
import { ensureWebBuild, fillEditor, launchChromium, screenshot, signedInContext } from './browser'

/**
 * Authoring polish (issue 16): SQL completion from the datasource a form has selected, the
 * SQL kind's datasource picker, nested fields in the generic schema form, and channel
 * settings and reporter targets edited through fields. One server, browser and source
 * database (a real PostgreSQL) for the file.
 */
let s: TestServer
let org: TestOrg
let browser: Browser
let page: Page
let adminPage: Page
let editor: string
let admin: string
let src: SourceDb
let dsId: string
let http: Receiver

async function gql<T>(query: string, variables: Record<string, unknown> = {}, token = editor): Promise<T> {
  const r = await s.gql<T>(query, variables, { token })
  if (r.errors) throw new Error(JSON.stringify(r.errors))
  return r.data as T
}

const configOf = async (id: string) =>
  (
    await gql<{ automation: { config: Record<string, unknown> } }>(
      'query($id: ID!) { automation(id: $id) { config } }',
      { id },
    )
  ).automation.config

/** Types `text` into a SQL editor, asks for completion at its end, and returns what is offered. */
async function completionsAfter(path: string, text: string): Promise<string[]> {
  await fillEditor(page, path, text)
  await page.keyboard.press('End')
  await page.keyboard.press('Control+Space')
  const options = page.locator('.cm-tooltip-autocomplete li')
  await options.first().waitFor()
  const offered = await options.allTextContents()
  await page.keyboard.press('Escape')
  return offered
}

beforeAll(async () => {
  ensureWebBuild()
  s = await startTestServer({ env: { SWITCHYARD_EGRESS_ALLOW: LOOPBACK_EGRESS } })
  org = await createOrg(s.db)
  admin = await s.login(org.users.admin!.email, org.users.admin!.password)
  editor = await s.login(org.users.editor!.email, org.users.editor!.password)
  src = await createSourceDb()
  await src.sql.unsafe(`create schema shop;
    create table shop.orders (id bigint primary key, customer text, amount integer);
    insert into shop.orders select g, 'c' || g % 3, g * 10 from generate_series(1, 25) g;`)
  const ds = await gql<{ createPostgresDatasource: { datasource: { id: string } } }>(
    `mutation($i: CreatePostgresDatasourceInput!) { createPostgresDatasource(input: $i) {
      ... on CreatePostgresDatasourceSuccess { datasource { id } } } }`,
    { i: { name: 'shop', connectionString: src.url } },
    admin,
  )
  dsId = ds.createPostgresDatasource.datasource.id
  await gql(
    'mutation($i: DatasourceGrantInput!) { grantDatasource(input: $i) { __typename } }',
    { i: { datasourceId: dsId, userId: org.users.editor!.id, permission: 'USE' } },
    admin,
  )
  // A warehouse storage, to tell the warehouse's catalog from the datasource's.
  const made = await createAutomation(s, editor, {
    name: 'Make daily',
    kind: 'SQL',
    config: { statement: 'create table daily_totals (day date, total integer)' },
  })
  expect((await waitForRun(s, editor, await runAutomation(s, editor, made))).state).toBe('SUCCEEDED')
  http = await startReceiver()
  browser = await launchChromium()
  page = await (await signedInContext(browser, s.url, editor)).newPage()
  adminPage = await (await signedInContext(browser, s.url, admin)).newPage()
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await s?.stop()
  await src?.drop()
  await http?.close()
})

describe('authoring polish in Chromium', () => {
  it('completes tables and columns of the datasource the form has selected, switching with it', async () => {
    await page.goto(`${s.url}/automations/new`)
    await page.selectOption('select[name=kind]', 'SQL')
    await page
      .locator('select[name="config.datasource"] option[value=warehouse]')
      .waitFor({ state: 'attached' })
    expect(await completionsAfter('config.statement', 'select * from daily_t')).toContainEqual(
      expect.stringContaining('daily_totals'),
    )
    await page.selectOption('select[name="config.datasource"]', dsId)
    expect(await completionsAfter('config.statement', 'select * from shop.ord')).toContainEqual(
      expect.stringContaining('orders'),
    )
    expect(await completionsAfter('config.statement', 'select shop.orders.cust')).toContainEqual(
      expect.stringContaining('customer'),
    )
    await screenshot(page, 'polish-sql-completion-datasource')
    // A data kind's query field completes from its source's datasource the same way.
    await page.selectOption('select[name=kind]', 'SQL_TO_STORAGE')
    await page.selectOption('select[name="config.source.datasource"]', dsId)
    expect(await completionsAfter('config.source.query', 'select * from shop.ord')).toContainEqual(
      expect.stringContaining('orders'),
    )
  })

  it('saves the SQL form’s datasource, and the run reads from it', async () => {
    await page.goto(`${s.url}/automations/new`)
    await page.fill('input[name=name]', 'Count shop orders')
    await page.selectOption('select[name=kind]', 'SQL')
    await page.selectOption('select[name="config.datasource"]', dsId)
    await fillEditor(
      page,
      'config.statement',
      'select count(*)::int as n, sum(amount)::int as total from shop.orders',
    )
    await screenshot(page, 'polish-sql-datasource-picker')
    await page.click('[data-action=save]')
    await page.waitForURL(/\/automations\/[0-9a-f-]{36}$/)
    const id = page.url().split('/').at(-1)!
    expect(await configOf(id)).toMatchObject({ datasource: dsId })
    // The saved form shows the datasource it reads.
    // (once the datasources the select lists have loaded)
    await expect.poll(() => page.locator('select[name="config.datasource"]').inputValue()).toBe(dsId)
    const run = await waitForRun(s, editor, await runAutomation(s, editor, id))
    expect(run.error).toBeNull()
    expect(run.outputs).toMatchObject({ rowCount: 1, rows: [{ n: 25, total: 3250 }] })
  })

  it('draws nested objects and lists of objects of a generic form, with messages beside nested fields', async () => {
    const id = await createAutomation(s, editor, {
      name: 'Two steps',
      kind: 'WORKFLOW',
      config: {
        steps: [
          { name: 'first', sql: { statement: 'select 1' } },
          { name: 'second', sql: { statement: 'select 2' } },
        ],
        edges: [{ from: 'first', to: 'second' }],
      },
    })
    await page.goto(`${s.url}/automations/${id}`)
    const statement = page.locator('input[name="config.steps.1.sql.statement"]')
    await statement.waitFor()
    expect(await statement.inputValue()).toBe('select 2')
    await statement.fill('select 3')
    await page.fill('input[name="config.steps.1.retries"]', '50')
    await page.click('[data-action=save]')
    const error = page.locator('[data-field-error="config.steps.1.retries"]')
    await error.waitFor()
    expect(await error.textContent()).toMatch(/19/)
    // Beside its field only, not repeated by the objects around it.
    expect(await page.getByText(await error.innerText()).count()).toBe(1)
    await screenshot(page, 'polish-schema-form-nested')
    await page.fill('input[name="config.steps.1.retries"]', '2')
    await page.click('[data-action=save]')
    await page.getByText('Saved.').waitFor()
    expect(((await configOf(id)).steps as unknown[])[1]).toMatchObject({
      name: 'second',
      sql: { statement: 'select 3' },
      retries: 2,
    })
  })

  it('creates a channel through its fields and tests it against a receiver', async () => {
    await adminPage.goto(`${s.url}/admin/channels`)
    const form = adminPage.locator('form[aria-label="Channel connection"]')
    await form.locator('input[name=connection-name]').fill('Ops hook')
    // A union of settings (Slack: a webhook or a bot) shows the fields of the mode chosen.
    await form.locator('select[name=connection-type]').selectOption('SLACK')
    await form.locator('select[name="config.mode"]').selectOption('BOT')
    await form.locator('input[name="config.botToken"]').waitFor()
    expect(await form.locator('input[name="config.webhookUrl"]').count()).toBe(0)
    // A server message stands beside its field.
    await form.locator('select[name=connection-type]').selectOption('TWILIO_SMS')
    await form.locator('input[name="config.accountSid"]').fill('not-a-sid')
    await form.locator('button[type=submit]').click()
    await form.locator('[data-field-error="config.accountSid"]').waitFor()
    await form.locator('select[name=connection-type]').selectOption('WEBHOOK')
    await form.locator('input[name="config.url"]').fill(`${http.url}/ops`)
    await form.locator('select[name="config.method"]').selectOption('PUT')
    await screenshot(adminPage, 'polish-channel-fields')
    await form.locator('button[type=submit]').click()
    const row = adminPage.locator('tr[data-connection="Ops hook"]')
    await row.waitFor()
    await row.getByRole('button', { name: 'Test connection' }).click()
    await expect.poll(() => adminPage.locator('[data-notice]').textContent()).toContain('Ops hook works')
    expect(http.requests.at(-1)).toMatchObject({ method: 'PUT', path: '/ops' })
    expect(JSON.parse(http.requests.at(-1)!.body)).toMatchObject({ test: true, connection: 'Ops hook' })
    // Editing shows the saved settings in the same fields, and as JSON on request.
    await row.getByRole('button', { name: 'Edit' }).click()
    await expect.poll(() => form.locator('input[name="config.url"]').inputValue()).toBe(`${http.url}/ops`)
    await form.locator('input[name=connection-config-mode][value=json]').check()
    expect(JSON.parse(await form.locator('textarea[name=connection-config]').inputValue())).toMatchObject({
      url: `${http.url}/ops`,
      method: 'PUT',
    })
  })

  it('sets a reporter target through its fields', async () => {
    const conn = await gql<{ createChannelConnection: { connection: { id: string } } }>(
      `mutation($i: ChannelConnectionInput!) { createChannelConnection(input: $i) {
        ... on CreateChannelConnectionSuccess { connection { id } } } }`,
      { i: { name: 'Report log', type: 'DATASET', config: {} } },
      admin,
    )
    const automationId = await createAutomation(s, editor, {
      name: 'Logged',
      kind: 'SCRIPT',
      config: { code: "log('x')" },
    })
    await page.goto(`${s.url}/automations/${automationId}/reporters`)
    await page.getByRole('button', { name: 'Add reporter' }).click()
    const form = page.locator('[data-reporter-form]')
    await form.locator('input[name=reporter-name]').fill('Log runs')
    await form
      .locator('select[name=reporter-connection]')
      .selectOption(conn.createChannelConnection.connection.id)
    const storage = form.locator('input[name="target.storage"]')
    await storage.fill('Bad Name')
    await form.getByRole('button', { name: 'Save reporter' }).click()
    await form.locator('[data-field-error="target.storage"]').waitFor()
    expect(await form.locator('.field-error').count()).toBe(1)
    await storage.fill('run_log')
    await screenshot(page, 'polish-reporter-target-fields')
    await form.getByRole('button', { name: 'Save reporter' }).click()
    await page.locator('tr[data-reporter="Log runs"]').waitFor()
    const r = await gql<{ automation: { reporters: { name: string; target: unknown }[] } }>(
      'query($id: ID!) { automation(id: $id) { reporters { name target } } }',
      { id: automationId },
    )
    expect(r.automation.reporters).toEqual([{ name: 'Log runs', target: { storage: 'run_log' } }])
  })
})
