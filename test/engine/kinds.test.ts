import { type IncomingMessage, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, expectLifecycle, runAutomation, waitForRun } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { LOOPBACK_EGRESS, type TestServer, startTestServer } from '../helpers/server'

let s: TestServer
let org: TestOrg
let other: TestOrg
let token: string
let receiver: ReturnType<typeof createServer>
let receiverUrl: string
const received: { method: string; url: string; body: string; headers: IncomingMessage['headers'] }[] = []

beforeAll(async () => {
  // The HTTP_REQUEST receiver below listens on loopback.
  s = await startTestServer({ env: { SWITCHYARD_EGRESS_ALLOW: LOOPBACK_EGRESS } })
  org = await createOrg(s.db)
  other = await createOrg(s.db)
  token = await s.login(org.users.editor!.email, org.users.editor!.password)
  // A small real HTTP server stands in for the outside service.
  receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, body, headers: req.headers })
      const status = req.url?.startsWith('/fail') ? 503 : 200
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ ok: status === 200, echo: body }))
    })
  })
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`
})
afterAll(async () => {
  await s?.stop()
  await new Promise((r) => receiver?.close(r))
})

describe('HTTP_REQUEST', () => {
  it('calls the URL with parameters filled in and keeps the response as outputs', async () => {
    const id = await createAutomation(s, token, {
      name: 'notify',
      kind: 'HTTP_REQUEST',
      config: {
        url: `${receiverUrl}/orders/\${order}`,
        method: 'POST',
        headers: { 'x-source': 'switchyard' },
        body: '{"order": "${order}"}',
      },
      parameters: [{ name: 'order', type: 'STRING', required: true }],
    })
    const run = await waitForRun(s, token, await runAutomation(s, token, id, { order: 'a b/c' }))
    expect(run.state).toBe('SUCCEEDED')
    const hit = received.at(-1)!
    expect(hit).toMatchObject({ method: 'POST', url: '/orders/a%20b%2Fc', body: '{"order": "a b/c"}' })
    expect(hit.headers['x-source']).toBe('switchyard')
    expect(run.outputs).toMatchObject({ status: 200, body: { ok: true } })
  })

  it('fails on an unexpected status with the status in the error', async () => {
    const id = await createAutomation(s, token, {
      name: 'broken',
      kind: 'HTTP_REQUEST',
      config: { url: `${receiverUrl}/fail` },
    })
    const run = await waitForRun(s, token, await runAutomation(s, token, id))
    expect(run.state).toBe('FAILED')
    expect(run.error).toContain('unexpected status 503')
  })

  it('fails clearly when the host is unreachable', async () => {
    const id = await createAutomation(s, token, {
      name: 'nowhere',
      kind: 'HTTP_REQUEST',
      config: { url: 'http://127.0.0.1:1/x', timeoutMs: 2000 },
    })
    const run = await waitForRun(s, token, await runAutomation(s, token, id))
    expect(run.state).toBe('FAILED')
    expect(run.error).toMatch(/request to http:\/\/127\.0\.0\.1:1\/x failed/)
  })
})

describe('SQL', () => {
  it('runs one statement on the organization warehouse, binding ${params} as parameters', async () => {
    const make = await createAutomation(s, token, {
      name: 'make',
      kind: 'SQL',
      config: { statement: 'create table if not exists events (name text)' },
    })
    expect((await waitForRun(s, token, await runAutomation(s, token, make))).state).toBe('SUCCEEDED')
    const insert = await createAutomation(s, token, {
      name: 'insert',
      kind: 'SQL',
      config: {
        statement: "insert into events (name) values (${name}) returning name, '${name}' as literal",
      },
      parameters: [{ name: 'name', type: 'STRING', required: true }],
    })
    const hostile = "x'); drop table events; --"
    const run = await waitForRun(s, token, await runAutomation(s, token, insert, { name: hostile }))
    expect(run.state).toBe('SUCCEEDED')
    // Bound, never pasted: the hostile value is data, and a quoted ${name} stays literal text.
    expect(run.outputs).toMatchObject({ rows: [{ name: hostile, literal: '${name}' }] })
  })

  it('cannot read platform tables, other organizations or run two statements', async () => {
    const otherToken = await s.login(other.users.editor!.email, other.users.editor!.password)
    // Changing roles or settings first leaves nothing to reach: the warehouse is the organization's own database:
    // the attempts below fail after it as before.
    const settings = await createAutomation(s, token, {
      name: 'settings',
      kind: 'SQL',
      config: { statement: 'select set_config($$search_path$$, $$public$$, false)' },
    })
    await waitForRun(s, token, await runAutomation(s, token, settings))
    const attempts = ['select * from public.users', 'select * from users', 'select 1; select 2']
    for (const statement of attempts) {
      const id = await createAutomation(s, token, {
        name: `evil ${statement}`,
        kind: 'SQL',
        config: { statement },
      })
      const run = await waitForRun(s, token, await runAutomation(s, token, id))
      expect(run.state, statement).toBe('FAILED')
      expect(run.error, statement).toMatch(/SQL error|not allowed/)
    }
    // Organization B's warehouse has no `events` table of A's.
    const peek = await createAutomation(s, otherToken, {
      name: 'peek',
      kind: 'SQL',
      config: { statement: 'select * from events' },
    })
    const run = await waitForRun(s, otherToken, await runAutomation(s, otherToken, peek))
    expect(run.state).toBe('FAILED')
    expect(run.error).toMatch(/does not exist|permission denied/)
  })
})

describe('run queries', () => {
  it('filters runs by automation, state, trigger source, trigger user and time', async () => {
    const ok = await createAutomation(s, token, { name: 'filter-ok', kind: 'NOOP', config: {} })
    const bad = await createAutomation(s, token, { name: 'filter-bad', kind: 'NOOP', config: { fail: 'no' } })
    const [{ now }] = (await s.db.query<{ now: Date }>('select now()')) as [{ now: Date }]
    const before = new Date(now).toISOString()
    const r1 = await runAutomation(s, token, ok)
    const r2 = await runAutomation(s, token, bad)
    await waitForRun(s, token, r1)
    await waitForRun(s, token, r2)
    const q = async (args: string) => {
      const r = await s.gql<{ runs: { edges: { node: { id: string } }[] } }>(
        `{ runs(${args}) { edges { node { id } } } }`,
        {},
        { token },
      )
      return r.data!.runs.edges.map((e) => e.node.id)
    }
    expect(await q(`automationId: "${ok}"`)).toEqual([r1])
    expect(await q(`states: [FAILED], since: "${before}"`)).toEqual([r2])
    expect(
      await q(`triggerSource: "MANUAL", triggeredBy: "${org.users.editor!.id}", since: "${before}"`),
    ).toEqual([r2, r1])
    expect(await q(`until: "${before}", automationId: "${ok}"`)).toEqual([])
    const page = await s.gql<{
      runs: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } }
    }>(
      `{ runs(first: 1, since: "${before}") { edges { node { id } } pageInfo { hasNextPage endCursor } } }`,
      {},
      { token },
    )
    expect(page.data!.runs.edges.map((e) => e.node.id)).toEqual([r2])
    expect(page.data!.runs.pageInfo.hasNextPage).toBe(true)
    expect(await q(`first: 1, after: "${page.data!.runs.pageInfo.endCursor}", since: "${before}"`)).toEqual([
      r1,
    ])
  })

  it('streams runUpdated over server-sent events too', async () => {
    const id = await createAutomation(s, token, { name: 'sse', kind: 'NOOP', config: { sleepMs: 200 } })
    const controller = new AbortController()
    const res = await fetch(`${s.url}/graphql`, {
      method: 'POST',
      signal: controller.signal,
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ query: `subscription { runUpdated(automationId: "${id}") { state } }` }),
    })
    expect(res.headers.get('content-type')).toContain('text/event-stream')
    const reader = res.body!.getReader()
    await new Promise((r) => setTimeout(r, 200))
    await runAutomation(s, token, id)
    let text = ''
    while (!text.includes('SUCCEEDED')) {
      const { value, done } = await reader.read()
      if (done) break
      text += new TextDecoder().decode(value)
    }
    controller.abort()
    const states = [...text.matchAll(/"state":"(\w+)"/g)].map((m) => m[1]!)
    expectLifecycle(states, ['QUEUED', 'RUNNING', 'SUCCEEDED'])
  })
})
