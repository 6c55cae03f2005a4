import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fireTrigger, loadTarget } from '../../server/src/triggers/fire'
import { createAutomation } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'

let s: TestServer
let org: TestOrg
let editor: string
let hook: { id: string; token: string; url: string; automationId: string }

const CREATE = `mutation($a: ID!, $i: TriggerInput!) { createTrigger(automationId: $a, input: $i) {
  __typename ... on TriggerPayload { webhookToken webhookUrl trigger { id webhookTokenPrefix } } ... on Error { message } } }`

async function webhook(automationId: string, config: Record<string, unknown> = {}) {
  const r = await s.gql<{
    createTrigger: { webhookToken: string; webhookUrl: string; trigger: { id: string } }
  }>(CREATE, { a: automationId, i: { type: 'WEBHOOK', config } }, { token: editor })
  const p = r.data!.createTrigger
  return { id: p.trigger.id, token: p.webhookToken, url: p.webhookUrl, automationId }
}

const post = (
  token: string,
  body?: string,
  opts: { query?: string; headers?: Record<string, string> } = {},
) =>
  fetch(`${s.url}/hooks/${token}${opts.query ?? ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...opts.headers },
    body,
  })

beforeAll(async () => {
  s = await startTestServer({ env: { SWITCHYARD_WEBHOOK_MAX_BODY_BYTES: '4096' } })
  org = await createOrg(s.db)
  editor = await s.login(org.users.editor!.email, org.users.editor!.password)
  const a = await createAutomation(s, editor, {
    name: 'hooked',
    kind: 'SCRIPT',
    config: { code: "setOutput('twice', params.n * 2)" },
    parameters: [
      { name: 'n', type: 'NUMBER', required: true },
      { name: 'tag', type: 'STRING', default: 'none' },
    ],
  })
  hook = await webhook(a)
})
afterAll(() => s?.stop())

describe('WEBHOOK', () => {
  it('answers at once with the run id; the run has trigger source WEBHOOK and the run-as user', async () => {
    expect(hook.token).toMatch(/^syw_/)
    // The URL handed out names the port really bound (the test server listens on port 0).
    expect(hook.url).toBe(`${s.url.replace('127.0.0.1', 'localhost')}/hooks/${hook.token}`)
    const res = await post(hook.token, JSON.stringify({ n: 4 }))
    expect(res.status).toBe(202)
    const body = (await res.json()) as { runId: string; state: string }
    expect(body.state).toMatch(/QUEUED|RUNNING|SUCCEEDED/)
    const [run] = await s.db.query<{ trigger_source: string; run_as: string; parameters: unknown }>(
      'select trigger_source, run_as, parameters from runs where id = $1',
      [body.runId],
    )
    expect(run).toEqual({
      trigger_source: 'WEBHOOK',
      run_as: org.users.editor!.id,
      parameters: { n: 4, tag: 'none' },
    })
  })

  it('?wait=<seconds> waits for the result', async () => {
    const res = await post(hook.token, JSON.stringify({ n: 21, tag: 'x' }), { query: '?wait=20' })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ state: 'SUCCEEDED', outputs: { twice: 42 }, error: null })
    const bad = await post(hook.token, '{"n":1}', { query: '?wait=soon' })
    expect(bad.status).toBe(400)
  })

  it('a wrong token is 404, and costs the same time as any other wrong token', async () => {
    const near = `${hook.token.slice(0, -4)}AAAA`
    const far = `syw_${'x'.repeat(43)}`
    for (const t of [near, far, 'nope', '']) {
      const res = await post(t, '{"n":1}')
      expect(res.status).toBe(404)
      expect(await res.json()).toEqual({ error: 'not found' })
    }
    // Lookup is by SHA-256, so a token sharing a prefix with the real one gains nothing. Requests
    // alternate, so a machine busy with other work slows both series alike.
    const samples: [number[], number[]] = [[], []]
    for (let i = 0; i < 40; i++) {
      for (const [k, t] of [near, far].entries()) {
        const start = performance.now()
        await (await post(t, '{"n":1}')).text()
        samples[k]!.push(performance.now() - start)
      }
    }
    const [a, b] = samples.map((x) => x.sort((p, q) => p - q)[20]!)
    expect(Math.abs(a! - b!)).toBeLessThan(5 + 0.25 * Math.max(a!, b!))
  })

  it('refuses a non-JSON body, a non-object, an oversized body and parameters of the wrong type', async () => {
    const notJson = await post(hook.token, 'n=4')
    expect(notJson.status).toBe(400)
    expect(((await notJson.json()) as { error: string }).error).toMatch(/not valid JSON/)
    const form = await post(hook.token, 'n=4', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(form.status).toBe(415)
    const array = await post(hook.token, '[1,2]')
    expect(array.status).toBe(422)
    const big = await post(hook.token, JSON.stringify({ n: 1, tag: 'x'.repeat(10_000) }))
    expect(big.status).toBe(413)
    expect(((await big.json()) as { error: string }).error).toMatch(/limit is 4096/)
    const typed = await post(hook.token, JSON.stringify({ n: 'four', extra: true }))
    expect(typed.status).toBe(422)
    expect(((await typed.json()) as { issues: unknown[] }).issues).toEqual(
      expect.arrayContaining([
        { path: 'parameters.n', message: 'must be a number' },
        { path: 'parameters.extra', message: 'is not a declared parameter' },
      ]),
    )
    const get = await fetch(`${s.url}/hooks/${hook.token}`)
    expect(get.status).toBe(405)
  })

  it('an Idempotency-Key returns the first run on a retried delivery', async () => {
    const headers = { 'idempotency-key': 'delivery-42' }
    const first = (await (await post(hook.token, '{"n":1}', { headers })).json()) as { runId: string }
    const again = (await (await post(hook.token, '{"n":1}', { headers })).json()) as { runId: string }
    expect(again.runId).toBe(first.runId)
  })

  it('a rejected request leaves its Idempotency-Key unused, so the corrected retry runs', async () => {
    const headers = { 'idempotency-key': 'fix-and-retry' }
    expect((await post(hook.token, '{"n":"one"}', { headers })).status).toBe(422)
    const fixed = await post(hook.token, '{"n":1}', { headers })
    expect(fixed.status).toBe(202)
    expect(((await fixed.json()) as { runId: string }).runId).toMatch(/^\d+$/)
  })

  it('fireTrigger claims no key for parameters it refuses (INVALID)', async () => {
    const target = (await loadTarget(s.db, org.id, hook.automationId))!
    const fire = (parameters: Record<string, unknown>) =>
      s.db.transaction((tx) =>
        fireTrigger(s.app.services.engine, tx, {
          triggerId: hook.id,
          target,
          key: 'idem:invalid-then-valid',
          source: 'WEBHOOK',
          parameters,
          at: new Date(),
        }),
      )
    expect((await fire({ n: 'one' })).kind).toBe('INVALID')
    expect((await fire({ n: 1 })).kind).toBe('FIRED')
  })

  it('is rate-limited per token', async () => {
    const a = await createAutomation(s, editor, { name: 'limited', kind: 'NOOP', config: {} })
    const limited = await webhook(a, { rateLimitPerMinute: 2 })
    const codes = []
    for (let i = 0; i < 3; i++) codes.push((await post(limited.token, '{}')).status)
    expect(codes).toEqual([202, 202, 429])
    const res = await post(limited.token, '{}')
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
    // Another token has its own budget.
    expect((await post(hook.token, '{"n":1}')).status).toBe(202)
  })

  it('rotating the token retires the old URL; disabling answers 403; a deleted automation 404', async () => {
    const a = await createAutomation(s, editor, { name: 'rotated', kind: 'NOOP', config: {} })
    const h = await webhook(a, { bodyParameter: undefined })
    const r = await s.gql<{ rotateWebhookToken: { webhookToken: string } }>(
      `mutation { rotateWebhookToken(triggerId: "${h.id}") { ... on TriggerPayload { webhookToken } } }`,
      {},
      { token: editor },
    )
    const fresh = r.data!.rotateWebhookToken.webhookToken
    expect((await post(h.token, '{}')).status).toBe(404)
    expect((await post(fresh, '{}')).status).toBe(202)
    await s.gql(
      `mutation { updateTrigger(id: "${h.id}", input: { enabled: false }) { __typename } }`,
      {},
      { token: editor },
    )
    expect((await post(fresh, '{}')).status).toBe(403)
    await s.gql(
      `mutation { updateTrigger(id: "${h.id}", input: { enabled: true }) { __typename } }`,
      {},
      { token: editor },
    )
    await s.gql(`mutation { deleteAutomation(id: "${a}") { __typename } }`, {}, { token: editor })
    expect((await post(fresh, '{}')).status).toBe(404)
  })

  it('bodyParameter passes an arbitrary JSON body as one parameter', async () => {
    const a = await createAutomation(s, editor, {
      name: 'github-push',
      kind: 'NOOP',
      config: {},
      parameters: [{ name: 'payload', type: 'JSON' }],
    })
    const h = await webhook(a, { bodyParameter: 'payload' })
    const res = await post(h.token, JSON.stringify([{ ref: 'main' }]))
    expect(res.status).toBe(202)
    const { runId } = (await res.json()) as { runId: string }
    const [run] = await s.db.query<{ parameters: unknown }>('select parameters from runs where id = $1', [
      runId,
    ])
    expect(run!.parameters).toEqual({ payload: [{ ref: 'main' }] })
  })
})
