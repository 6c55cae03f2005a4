import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DataFixture, dataFixture } from '../data/helpers'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import {
  CREATE_REPORTER,
  type Receiver,
  createConnection,
  createReporter,
  ref,
  settledDeliveries,
  startReceiver,
} from './helpers'

// Deliveries are durable jobs: retried with backoff on 5xx, one per (reporter, run, outcome)
// whatever the run's attempts, never changing the run's outcome; templates are checked at save.
let f: DataFixture
let http: Receiver
let hook: string
let n = 0

beforeAll(async () => {
  f = await dataFixture({ SWITCHYARD_DELIVERY_BACKOFF_MS: '50' })
  http = await startReceiver()
  hook = await createConnection(f, { name: 'hook', type: 'WEBHOOK', config: { url: `${http.url}/in` } })
  // The organization's warehouse is created by its first run: not inside a test.
  await f.sql('select 1')
})
afterAll(async () => {
  await f?.stop()
  await http?.close()
})

const automation = (config: Record<string, unknown> = { statement: 'select 1 as one' }, extra = {}) =>
  createAutomation(f.s, f.editor, { name: `auto-${++n}`, kind: 'SQL', config, ...extra })
const run = async (id: string) => waitForRun(f.s, f.editor, await runAutomation(f.s, f.editor, id))
const received = (key: string) => http.requests.filter((r) => r.headers['x-switchyard-delivery'] === key)

describe('deliveries', () => {
  it('retries a receiver that answers 500 twice, then delivers once', async () => {
    const id = await automation()
    await createReporter(f, id, { name: 'flaky', connectionId: hook })
    http.answers.push(500, 503)
    const r = await run(id)
    const [d] = await settledDeliveries(f, r.id)
    expect(d).toMatchObject({ state: 'DELIVERED', attempts: 3, responseCode: 200, error: null })
    const got = received(d!.idempotencyKey)
    expect(got).toHaveLength(3)
    // Same key every time, so a receiver that saw a lost answer can dedupe.
    expect(new Set(got.map((g) => g.body)).size).toBe(1)
  })

  it('a run retried three times gives one START and one END message', async () => {
    const id = await automation({ statement: 'select 1/0' }, { retry: { maxAttempts: 3, backoffMs: 0 } })
    await createReporter(f, id, { name: 'start', connectionId: hook, event: 'START' })
    await createReporter(f, id, { name: 'failed', connectionId: hook, event: 'END', condition: 'FAILED' })
    await createReporter(f, id, { name: 'ok', connectionId: hook, event: 'END', condition: 'SUCCEEDED' })
    const r = await run(id)
    expect(r).toMatchObject({ state: 'FAILED', attempt: 3 })
    const ds = await settledDeliveries(f, r.id, 2)
    expect(ds.map((d) => [d.reporterName, d.outcome, d.state])).toEqual([
      ['start', 'START', 'DELIVERED'],
      ['failed', 'FAILED', 'DELIVERED'],
    ])
    for (const d of ds) expect(received(d.idempotencyKey)).toHaveLength(1)
    const start = JSON.parse(received(ds[0]!.idempotencyKey)[0]!.body)
    // The START message is the run as it started (attempt 1), not as it ended.
    expect(start.run).toMatchObject({ state: 'RUNNING', attempt: 1 })
    expect(JSON.parse(received(ds[1]!.idempotencyKey)[0]!.body).run).toMatchObject({
      state: 'FAILED',
      attempt: 3,
    })
  })

  it('a failing reporter never changes the run outcome, and its error is recorded', async () => {
    const id = await automation()
    await createReporter(f, id, { name: 'gone', connectionId: hook })
    http.answers.push(404)
    const r = await run(id)
    expect(r.state).toBe('SUCCEEDED')
    expect(await settledDeliveries(f, r.id)).toMatchObject([
      { state: 'FAILED', attempts: 1, responseCode: 404, error: expect.stringContaining('HTTP 404') },
    ])
  })

  it('judges expression conditions with the variables evaluator: false is SKIPPED, true is sent', async () => {
    const id = await automation()
    await createReporter(f, id, {
      name: 'first try',
      connectionId: hook,
      condition: 'EXPRESSION',
      expression: 'outcome == "SUCCEEDED" && attempt == 1 && durationMs >= 0',
    })
    await createReporter(f, id, {
      name: 'never',
      connectionId: hook,
      condition: 'EXPRESSION',
      expression: 'outcome == "FAILED"',
    })
    const r = await run(id)
    const ds = await settledDeliveries(f, r.id, 2)
    expect(ds.map((d) => [d.reporterName, d.state])).toEqual([
      ['first try', 'DELIVERED'],
      ['never', 'SKIPPED'],
    ])
  })

  it("sees check outcomes, outputs against the previous run, and a chain's steps", async () => {
    const script = (code: string, parameters: unknown[] = []) =>
      createAutomation(f.s, f.editor, { name: `script-${++n}`, kind: 'SCRIPT', config: { code }, parameters })
    const checked = await script(
      "setOutput('rows', Number(params.rows ?? 100)); setOutput('checks', [{ name: 'amounts', outcome: params.outcome ?? 'OK', message: 'sum' }])",
      [
        { name: 'rows', type: 'NUMBER', default: 100 },
        { name: 'outcome', type: 'STRING', default: 'OK' },
      ],
    )
    await createReporter(f, checked, {
      name: 'warning',
      connectionId: hook,
      condition: 'EXPRESSION',
      expression: 'checkOutcome_amounts == "WARNING"',
    })
    await createReporter(f, checked, {
      name: 'grew',
      connectionId: hook,
      condition: 'EXPRESSION',
      expression: 'previousOutput_rows != null && output_rows > previousOutput_rows * 1.1',
    })
    const runWith = async (p: Record<string, unknown>) =>
      waitForRun(f.s, f.editor, await runAutomation(f.s, f.editor, checked, p))
    const first = await runWith({ rows: 100 })
    expect((await settledDeliveries(f, first.id, 2)).map((d) => d.state)).toEqual(['SKIPPED', 'SKIPPED'])
    const second = await runWith({ rows: 120, outcome: 'WARNING' })
    expect((await settledDeliveries(f, second.id, 2)).map((d) => [d.reporterName, d.state])).toEqual([
      ['warning', 'DELIVERED'],
      ['grew', 'DELIVERED'],
    ])
    const third = await runWith({ rows: 125 })
    expect((await settledDeliveries(f, third.id, 2)).map((d) => d.state)).toEqual(['SKIPPED', 'SKIPPED'])

    const chain = await createAutomation(f.s, f.editor, {
      name: `chain-${++n}`,
      kind: 'CHAIN',
      config: { children: [checked, await script('return {}')] },
    })
    await createReporter(f, chain, {
      name: 'steps',
      connectionId: hook,
      template:
        '{"steps": [{% for s in steps %}{{ s.state | json }}{% unless forloop.last %},{% endunless %}{% endfor %}], "state": {{ run.state | json }}}',
    })
    const c = await run(chain)
    expect(c.state).toBe('SUCCEEDED')
    const [d] = await settledDeliveries(f, c.id)
    expect(JSON.parse(received(d!.idempotencyKey)[0]!.body)).toEqual({
      steps: ['SUCCEEDED', 'SUCCEEDED'],
      state: 'SUCCEEDED',
    })
  })

  it('a SEND_MESSAGE step of a chain queues one durable message about the chain mid-run', async () => {
    const bad = await f.s.gql<{ createAutomation: { __typename: string; issues: { path: string }[] } }>(
      `mutation($i: AutomationInput!) { createAutomation(input: $i) { __typename ... on ValidationError { issues { path message } } } }`,
      {
        i: {
          name: `msg-bad-${++n}`,
          kind: 'SEND_MESSAGE',
          config: { connectionId: hook, template: '{{ run.id | nope }}' },
        },
      },
      { token: f.editor },
    )
    expect(bad.data!.createAutomation.issues.map((i) => i.path)).toEqual(['config.template'])
    const message = await createAutomation(f.s, f.editor, {
      name: `msg-${++n}`,
      kind: 'SEND_MESSAGE',
      config: {
        connectionId: hook,
        template: '{"chain": {{ run.id | json }}, "state": {{ run.state | json }}, "done": {{ steps.size }}}',
      },
    })
    const first = await automation()
    const chain = await createAutomation(f.s, f.editor, {
      name: `chain-msg-${n}`,
      kind: 'CHAIN',
      config: { children: [first, message, await automation()] },
    })
    const c = await run(chain)
    expect(c.state).toBe('SUCCEEDED')
    const step = c.children.find((x) => x.automationId === message)!
    const runs = await f.gql<{ run: { children: { id: string; automationId: string }[] } }>(
      'query($id: ID!) { run(id: $id) { children { id automationId } } }',
      { id: c.id },
    )
    const stepRun = runs.run.children.find((x) => x.automationId === message)!
    expect(step.state).toBe('SUCCEEDED')
    const [d] = await settledDeliveries(f, stepRun.id)
    expect(d).toMatchObject({
      state: 'DELIVERED',
      outcome: 'STEP',
      reporterName: 'message step',
      channel: 'WEBHOOK',
    })
    const got = received(d!.idempotencyKey)
    expect(got).toHaveLength(1)
    // About the chain, while it ran: the first step had ended, the message step was running.
    expect(JSON.parse(got[0]!.body)).toEqual({ chain: c.id, state: 'RUNNING', done: 2 })
  })

  it('refuses a template error at save, naming its line', async () => {
    const id = await automation()
    const bad = await f.gql<{
      createReporter: { __typename: string; message: string; issues: { path: string; message: string }[] }
    }>(CREATE_REPORTER, {
      a: id,
      i: {
        name: 'bad',
        connectionId: hook,
        template: '{\n  "run": {{ run.id }},\n  "x": {{ run.state | shout }}\n}',
      },
    })
    expect(bad.createReporter.__typename).toBe('ValidationError')
    expect(bad.createReporter.issues).toEqual([
      { path: 'template', message: expect.stringMatching(/^line 3, column \d+: undefined filter: shout/) },
    ])
    const unclosed = await f.gql<{ createReporter: { issues: { path: string; message: string }[] } }>(
      CREATE_REPORTER,
      {
        a: id,
        i: { name: 'bad', connectionId: hook, template: 'a\nb\n{% if run.error %}oops' },
      },
    )
    expect(unclosed.createReporter.issues[0]).toMatchObject({
      path: 'template',
      message: expect.stringMatching(/^line 3, .*not closed/),
    })
    const expr = await f.gql<{ createReporter: { issues: { path: string }[] } }>(CREATE_REPORTER, {
      a: id,
      i: { name: 'bad', connectionId: hook, condition: 'EXPRESSION', expression: 'outcome ==' },
    })
    expect(expr.createReporter.issues[0]!.path).toBe('expression')
  })

  it('validates every input: channel settings, secret references, targets, rights', async () => {
    const create = `mutation($i: ChannelConnectionInput!) { createChannelConnection(input: $i) {
      __typename ... on ValidationError { issues { path message } } ... on Error { message } } }`
    const plain = await f.gql<{ createChannelConnection: { issues: { path: string; message: string }[] } }>(
      create,
      {
        i: {
          name: 'm',
          type: 'MAIL',
          config: { host: 'smtp.example.com', from: 'a@b.c', username: 'u', password: 'hunter2' },
        },
      },
      f.admin,
    )
    expect(plain.createChannelConnection.issues[0]).toMatchObject({
      path: 'config.password',
      message: expect.stringContaining('secret.NAME'),
    })
    const missing = await f.gql<{ createChannelConnection: { issues: { path: string; message: string }[] } }>(
      create,
      {
        i: {
          name: 'm',
          type: 'MAIL',
          config: { host: 'smtp.example.com', from: 'a@b.c', password: ref('NOPE') },
        },
      },
      f.admin,
    )
    expect(missing.createChannelConnection.issues[0]!.message).toContain('no secret named NOPE')
    const byEditor = await f.gql<{ createChannelConnection: { __typename: string } }>(
      create,
      { i: { name: 'x', type: 'WEBHOOK', config: { url: 'https://example.com' } } },
      f.editor,
    )
    expect(byEditor.createChannelConnection.__typename).toBe('ForbiddenError')
    const mail = await createConnection(f, {
      name: 'mail-v',
      type: 'MAIL',
      config: { host: 'smtp.example.com', from: 'a@b.c' },
    })
    const id = await automation()
    const badTarget = await f.gql<{ createReporter: { issues: { path: string }[] } }>(CREATE_REPORTER, {
      a: id,
      i: { name: 'm', connectionId: mail, target: { to: ['not-an-address'], subject: '{{ run.id' } },
    })
    expect(badTarget.createReporter.issues.map((i) => i.path)).toEqual(['target.to.0'])
    const badSubject = await f.gql<{ createReporter: { issues: { path: string; message: string }[] } }>(
      CREATE_REPORTER,
      {
        a: id,
        i: { name: 'm', connectionId: mail, target: { to: ['a@example.com'], subject: 'x {{ run.id' } },
      },
    )
    expect(badSubject.createReporter.issues[0]!.path).toBe('target.subject')
    const byViewer = await f.gql<{ createReporter: { __typename: string } }>(
      CREATE_REPORTER,
      { a: id, i: { name: 'v', connectionId: hook } },
      f.viewer,
    )
    expect(['ForbiddenError', 'NotFoundError']).toContain(byViewer.createReporter.__typename)
  })

  it('previews a template against the last run, sends a test message and tests a connection', async () => {
    const id = await automation()
    const r = await run(id)
    const preview = await f.gql<{
      reporterPreview: { preview: { runId: string; body: string; error: string | null } }
    }>(
      `query($a: ID!, $i: ReporterInput!) { reporterPreview(automationId: $a, input: $i) {
        ... on ReporterPreviewSuccess { preview { runId body error } } ... on Error { message } } }`,
      {
        a: id,
        i: {
          name: 'p',
          connectionId: hook,
          template: 'run {{ run.id }} {{ run.state }} rows={{ outputs.rows.size }}',
        },
      },
    )
    expect(preview.reporterPreview.preview).toEqual({
      runId: r.id,
      body: `run ${r.id} SUCCEEDED rows=1`,
      error: null,
    })
    const reporter = await createReporter(f, id, {
      name: 'test me',
      connectionId: hook,
      template: '{"test": {{ run.id | json }}}',
    })
    const before = http.requests.length
    const test = await f.gql<{ testReporter: { result: { ok: boolean; responseCode: number } } }>(
      `mutation($id: ID!) { testReporter(id: $id) { ... on TestReporterSuccess { result { ok responseCode error } } ... on Error { message } } }`,
      { id: reporter },
    )
    expect(test.testReporter.result).toMatchObject({ ok: true, responseCode: 200 })
    expect(JSON.parse(http.requests.at(-1)!.body)).toEqual({ test: r.id })
    expect(http.requests.length).toBe(before + 1)
    const conn = await f.gql<{ testChannelConnection: { result: { ok: boolean; responseCode: number } } }>(
      `mutation($id: ID!) { testChannelConnection(id: $id) { ... on TestChannelConnectionSuccess { result { ok responseCode error } } ... on Error { message } } }`,
      { id: hook },
      f.admin,
    )
    expect(conn.testChannelConnection.result).toMatchObject({ ok: true, responseCode: 200 })
    expect(JSON.parse(http.requests.at(-1)!.body)).toMatchObject({ test: true, connection: 'hook' })
  })

  it('shows reporters (their addresses) only to those who may edit the automation', async () => {
    // A folder where editors hold only VIEW: they see the automation, not its reporters' targets.
    const folder = await f.gql<{ createFolder: { folder: { id: string } } }>(
      'mutation { createFolder(name: "view only") { ... on CreateFolderSuccess { folder { id } } } }',
      {},
      f.admin,
    )
    const folderId = folder.createFolder.folder.id
    const grant = await f.gql<{ grantFolder: { __typename: string } }>(
      `mutation($f: ID!) { grantFolder(folderId: $f, role: EDITOR, permission: VIEW) { __typename } }`,
      { f: folderId },
      f.admin,
    )
    expect(grant.grantFolder.__typename).toBe('GrantFolderSuccess')
    const id = await createAutomation(f.s, f.admin, {
      name: `viewed-${++n}`,
      kind: 'NOOP',
      config: {},
      folderId,
    })
    await createReporter(f, id, { name: 'secretive', connectionId: hook }, f.admin)
    const READ = 'query($id: ID!) { automation(id: $id) { name reporters { name } } }'
    const asAdmin = await f.gql<{ automation: { reporters: { name: string }[] } }>(READ, { id }, f.admin)
    expect(asAdmin.automation.reporters.map((r) => r.name)).toEqual(['secretive'])
    const asEditor = await f.gql<{ automation: { name: string; reporters: unknown[] } | null }>(
      READ,
      { id },
      f.editor,
    )
    expect(asEditor.automation?.name).toBe(`viewed-${n}`)
    expect(asEditor.automation?.reporters).toEqual([])
  })
})
