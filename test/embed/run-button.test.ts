import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { Browser, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'
import {
  type HostSite,
  type PageRecord,
  hostPage,
  launchChromium,
  runButton,
  startHostSite,
  startProxy,
  statesOf,
} from './harness'

const BUILD = fileURLToPath(new URL('../../embed/build.mjs', import.meta.url))
const DIST = fileURLToPath(new URL('../../embed/dist/run-button.js', import.meta.url))
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url))

let s: TestServer
let site: HostSite
let browser: Browser
let page: Page
let editor: string
let org: TestOrg
let build: { status: number | null; stdout: string; stderr: string }

beforeAll(async () => {
  // Builds from the current source, so the suite never tests a stale bundle.
  build = spawnSync(process.execPath, [BUILD], { encoding: 'utf8' })
  if (build.status !== 0) throw new Error(`embed build failed: ${build.stdout}${build.stderr}`)
  ;[s, site, browser] = await Promise.all([startTestServer(), startHostSite(), launchChromium()])
  org = await createOrg(s.db)
  editor = await s.login(org.users.editor!.email, org.users.editor!.password)
})
afterAll(async () => {
  await browser?.close()
  await site?.stop()
  await s?.stop()
})
beforeEach(async () => {
  page = await browser.newPage()
})
afterEach(() => page.close())

async function automation(name: string, config: object, extra: object = {}): Promise<string> {
  const r = await s.gql<{ createAutomation: { automation?: { id: string }; message?: string } }>(
    'mutation($i: AutomationInput!) { createAutomation(input: $i) { ... on CreateAutomationSuccess { automation { id } } ... on Error { message } } }',
    { i: { name, kind: 'NOOP', config, allowAllUsersToRun: true, ...extra } },
    { token: editor },
  )
  const id = r.data?.createAutomation.automation?.id
  if (!id) throw new Error(`createAutomation: ${JSON.stringify(r)}`)
  return id
}

async function embedToken(
  automationIds: string[],
  allowedOrigins = [site.origin],
): Promise<{ token: string; id: string }> {
  const r = await s.gql<{
    createEmbedToken: { token?: string; embedToken?: { id: string }; message?: string }
  }>(
    `mutation($n: String!, $a: [ID!]!, $o: [String!]!) { createEmbedToken(name: $n, automationIds: $a, allowedOrigins: $o) {
      ... on CreateEmbedTokenPayload { token embedToken { id } } ... on Error { message } } }`,
    { n: 'dashboard', a: automationIds, o: allowedOrigins },
    { token: editor },
  )
  const p = r.data?.createEmbedToken
  if (!p?.token || !p.embedToken) throw new Error(`createEmbedToken: ${JSON.stringify(r)}`)
  return { token: p.token, id: p.embedToken.id }
}

async function runAsSeenByEditor(id: string) {
  const r = await s.gql<{ run: { state: string; triggerSource: string; parameters: unknown } | null }>(
    'query($id: ID!) { run(id: $id) { state triggerSource parameters } }',
    { id },
    { token: editor },
  )
  return r.data?.run
}

const open = (body: string, style?: string) =>
  page.goto(site.page(hostPage(`${s.url}/embed/run-button.js`, body, style)))
const records = () => page.evaluate(() => (window as unknown as { records: PageRecord[] }).records)
const statusOf = (id: string) => page.locator(`#${id} [part=status]`).textContent()
/** Waits for a button's state; on timeout, says what the button showed instead. */
async function waitState(id: string, state: string, timeout = 20_000) {
  try {
    await page.locator(`#${id}[state=${state}]`).waitFor({ timeout })
  } catch (e) {
    const shown = await page.locator(`#${id}`).getAttribute('state')
    const seen = statesOf(await records(), id)
    throw new Error(
      `#${id} never reached ${state}: it shows ${shown} "${await statusOf(id)}" after ${seen.join(' → ')}`,
      {
        cause: e,
      },
    )
  }
}
const runOf = (r: PageRecord) =>
  r.type === 'state' ? undefined : (r.detail.run as { id: string; state: string })

describe('<run-button> on a page of another origin', () => {
  it('runs on click (after confirm), shows every state live and ends SUCCEEDED, with run-start / run-finish', async () => {
    const refresh = await automation(
      'Refresh sales',
      { sleepMs: 1500 },
      { parameters: [{ name: 'region', type: 'STRING' }] },
    )
    const broken = await automation('Import orders', { fail: 'source file orders.csv is missing' })
    const { token } = await embedToken([refresh, broken])
    await open(
      runButton('refresh', {
        automation: refresh,
        token,
        label: 'Refresh data',
        parameters: '{"region":"eu"}',
        confirm: 'Refresh the sales data now?',
      }) + runButton('import', { automation: broken, token, label: 'Import orders' }),
    )
    expect(new URL(page.url()).origin).not.toBe(new URL(s.url).origin)
    const questions: string[] = []
    page.on('dialog', (d) => {
      questions.push(d.message())
      void d.accept()
    })

    await page.getByRole('button', { name: 'Refresh data' }).click()
    // Keyboard works as on any button.
    await page.getByRole('button', { name: 'Import orders' }).press('Enter')
    await waitState('refresh', 'SUCCEEDED')
    await waitState('import', 'FAILED')

    expect(questions).toEqual(['Refresh the sales data now?'])
    expect(await statusOf('refresh')).toMatch(/^Succeeded in 0:0[12]$/)
    expect(await statusOf('import')).toBe('Failed: source file orders.csv is missing')
    expect(await page.getByRole('button', { name: 'Refresh data' }).isEnabled()).toBe(true)
    expect(await page.getByRole('status').count()).toBe(2)

    const log = await records()
    expect(statesOf(log, 'refresh')).toEqual(['STARTING', 'QUEUED', 'RUNNING', 'SUCCEEDED'])
    expect(log.filter((r) => r.type === 'state' && r.text.includes('reconnecting'))).toEqual([])
    const running = log.filter((r) => r.type === 'state' && r.button === 'refresh' && r.state === 'RUNNING')
    // Disabled while running, with the elapsed time ticking beside the status.
    for (const r of running)
      expect(r).toMatchObject({ disabled: true, text: 'Running', elapsed: expect.stringMatching(/^0:0\d$/) })

    const events = log.filter((r) => r.type !== 'state' && r.button === 'refresh')
    expect(events.map((r) => [r.type, runOf(r)?.state])).toEqual([
      ['run-start', 'QUEUED'],
      ['run-finish', 'SUCCEEDED'],
    ])
    const runId = runOf(events[0]!)!.id
    expect(runOf(events[1]!)!.id).toBe(runId)
    expect(await runAsSeenByEditor(runId)).toEqual({
      state: 'SUCCEEDED',
      triggerSource: 'EMBED',
      parameters: { region: 'eu' },
    })
    const failed = log.find((r) => r.type === 'run-finish' && r.button === 'import')
    expect(failed && runOf(failed)).toMatchObject({
      state: 'FAILED',
      error: 'source file orders.csv is missing',
    })
  })

  it('says clearly that a revoked token no longer works', async () => {
    const id = await automation('Nightly load', {})
    const t = await embedToken([id])
    const revoked = await s.gql(
      'mutation($id: ID!) { revokeEmbedToken(id: $id) { __typename } }',
      { id: t.id },
      { token: editor },
    )
    expect(revoked.errors).toBeUndefined()
    await open(runButton('nightly', { automation: id, token: t.token, label: 'Load now' }))

    await page.getByRole('button', { name: 'Load now' }).click()
    await waitState('nightly', 'ERROR')
    expect(await statusOf('nightly')).toBe(
      'This button’s token is unknown, expired or revoked; ask for a new embed token.',
    )
    expect(await page.getByRole('button', { name: 'Load now' }).isEnabled()).toBe(true)
    const log = await records()
    expect(log.filter((r) => r.type !== 'state').map((r) => [r.type, r.detail.code])).toEqual([
      ['run-error', 'UNAUTHENTICATED'],
    ])
  })

  it('fails with a clear error on an origin the token does not allow, and starts nothing', async () => {
    const id = await automation('Refresh margins', {})
    const { token } = await embedToken([id], ['https://bi.example.com'])
    await open(runButton('margins', { automation: id, token, label: 'Refresh margins' }))

    await page.getByRole('button', { name: 'Refresh margins' }).click()
    await waitState('margins', 'ERROR')
    expect(await statusOf('margins')).toBe(
      `This button’s token may not be used on ${site.origin}; add that origin to the token’s allowed origins.`,
    )
    const log = await records()
    expect(log.filter((r) => r.type !== 'state').map((r) => [r.type, r.detail.code])).toEqual([
      ['run-error', 'FORBIDDEN_ORIGIN'],
    ])
    const runs = await s.gql<{ runs: { edges: unknown[] } }>(
      'query($a: ID!) { runs(automationId: $a, first: 5) { edges { node { id } } } }',
      { a: id },
      { token: editor },
    )
    expect(runs.data?.runs.edges).toEqual([])
  })

  it('shows WAITING then RUNNING, in order, for two automations sharing a mutex; themable by custom properties and ::part', async () => {
    const orders = await automation('Load orders', { sleepMs: 2000 }, { mutex: { name: 'warehouse-load' } })
    const customers = await automation(
      'Load customers',
      { sleepMs: 1000 },
      { mutex: { name: 'warehouse-load' } },
    )
    const { token } = await embedToken([orders, customers])
    await open(
      runButton('orders', { automation: orders, token, label: 'Load orders' }) +
        runButton('customers', { automation: customers, token, label: 'Load customers' }),
      '#customers{--run-button-background:#0f766e;--run-button-radius:999px}run-button::part(button){font-weight:600}',
    )

    await page.getByRole('button', { name: 'Load orders' }).click()
    await waitState('orders', 'RUNNING')
    await page.getByRole('button', { name: 'Load customers' }).click()
    await waitState('customers', 'WAITING')
    expect(await statusOf('customers')).toBe('Waiting · next in line')
    expect(await page.getByRole('button', { name: 'Load customers' }).isDisabled()).toBe(true)
    const look = await page.locator('#customers button').evaluate((b) => {
      const c = getComputedStyle(b)
      return [c.backgroundColor, c.borderRadius, c.fontWeight]
    })
    expect(look).toEqual(['rgb(15, 118, 110)', '999px', '600'])
    mkdirSync(ARTIFACTS, { recursive: true })
    await page.screenshot({
      path: `${ARTIFACTS}run-button.png`,
      clip: { x: 0, y: 0, width: 520, height: 190 },
    })

    await waitState('customers', 'SUCCEEDED')
    const log = await records()
    expect(statesOf(log, 'orders')).toEqual(['STARTING', 'QUEUED', 'RUNNING', 'SUCCEEDED'])
    const seen = statesOf(log, 'customers')
    expect(seen.indexOf('WAITING')).toBeGreaterThan(0)
    expect(seen.slice(seen.indexOf('WAITING'))).toEqual(['WAITING', 'RUNNING', 'SUCCEEDED'])
    // The server's clock orders them: customers started only once orders was done.
    const finished = (b: string) => {
      const r = log.find((x) => x.type === 'run-finish' && x.button === b)
      return r?.type === 'run-finish'
        ? (r.detail.run as { startedAt: string; finishedAt: string })
        : undefined
    }
    expect(Date.parse(finished('customers')!.startedAt)).toBeGreaterThanOrEqual(
      Date.parse(finished('orders')!.finishedAt),
    )
  })

  it('reconnects after the connection drops and shows the true final state', async () => {
    const id = await automation('Rebuild cube', { sleepMs: 2000 })
    const { token } = await embedToken([id])
    const proxy = await startProxy(Number(new URL(s.url).port))
    try {
      await open(runButton('cube', { automation: id, token, label: 'Rebuild cube', endpoint: proxy.url }))
      await page.getByRole('button', { name: 'Rebuild cube' }).click()
      await waitState('cube', 'RUNNING')
      const before = proxy.accepted

      // The network goes away while the run goes on, and the run ends meanwhile.
      proxy.block(true)
      proxy.cut()
      await page.locator('#cube [part=status]', { hasText: 'reconnecting…' }).waitFor()
      const runId = runOf((await records()).find((r) => r.type === 'run-start')!)!.id
      await expect
        .poll(async () => (await runAsSeenByEditor(runId))?.state, { timeout: 10_000 })
        .toBe('SUCCEEDED')
      expect(await page.locator('#cube').getAttribute('state')).toBe('RUNNING')

      proxy.block(false)
      await waitState('cube', 'SUCCEEDED')
      expect(await statusOf('cube')).toMatch(/^Succeeded in 0:02$/)
      expect(proxy.accepted).toBeGreaterThan(before)
      const finishes = (await records()).filter((r) => r.type === 'run-finish')
      expect(finishes.map((r) => runOf(r)?.state)).toEqual(['SUCCEEDED'])
    } finally {
      await proxy.stop()
    }
  })
})

describe('<run-button> in our own dashboard', () => {
  it('needs no token on the API’s own origin: it runs with the signed-in user’s session cookie', async () => {
    const id = await automation('Recompute KPIs', { sleepMs: 1200 })
    // Dashboard and API behind one origin, as when the server serves its dashboard.
    const dashboard = await startHostSite({ backend: Number(new URL(s.url).port) })
    try {
      // A viewer: allowed to run it because it allows all users to run.
      const session = await s.login(org.users.viewer!.email, org.users.viewer!.password)
      await page.context().addCookies([{ name: 'sy_session', value: session, url: dashboard.origin }])
      const html = hostPage('/embed/run-button.js', runButton('kpis', { automation: id, label: 'Recompute' }))
      await page.goto(dashboard.page(html))
      await page.getByRole('button', { name: 'Recompute' }).click()
      await waitState('kpis', 'SUCCEEDED')
      const log = await records()
      expect(statesOf(log, 'kpis')).toEqual(['STARTING', 'QUEUED', 'RUNNING', 'SUCCEEDED'])
      // The live socket authenticated with the cookie too: it never had to reconnect.
      expect(log.filter((r) => r.type === 'state' && r.text.includes('reconnecting'))).toEqual([])
      const start = log.find((r) => r.type === 'run-start')
      expect((await runAsSeenByEditor(runOf(start!)!.id))?.triggerSource).toBe('MANUAL')
    } finally {
      await dashboard.stop()
    }
  })
})

describe('the bundle', () => {
  it('stays within 8 KB gzip: the build checks and reports it, and the server serves it to any origin', async () => {
    expect(build.stdout).toMatch(/gzip \((\d+) bytes; budget 8\.00 KB\)/)
    const code = readFileSync(DIST)
    const gzip = gzipSync(code, { level: 9 }).length
    expect(gzip).toBeLessThanOrEqual(8 * 1024)
    expect(build.stdout).toContain(`(${gzip} bytes;`)

    const res = await fetch(`${s.url}/embed/run-button.js`)
    expect(res.headers.get('content-type')).toMatch(/javascript/)
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(Buffer.from(await res.arrayBuffer()).equals(code)).toBe(true)
  })
})
