import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type TestServer, startTestServer } from '../helpers/server'
import { type Setup, setup } from './helpers'

// Issue 12, point 10: bad input is a clear error naming the field, never a 500.
let x: Setup
beforeAll(async () => {
  x = await setup({ admin: 'ADMIN', editor: 'EDITOR', viewer: 'VIEWER' })
})
afterAll(() => x?.s.stop())

type Gql = Awaited<ReturnType<TestServer['gql']>>
const notInternal = (r: Gql) => {
  expect(JSON.stringify(r)).not.toContain('INTERNAL_SERVER_ERROR')
  expect(JSON.stringify(r)).not.toContain('Unexpected error')
}
const CREATE = 'mutation($i: AutomationInput!) { createAutomation(input: $i) { __typename } }'

describe('NUL bytes and lone surrogates', () => {
  it.each([
    ['a name', { name: 'a\u0000b', kind: 'NOOP', config: {} }, '$.i.name'],
    ['a config', { name: 'ok', kind: 'NOOP', config: { log: 'x\ud800y' } }, '$.i.config.log'],
  ])('in %s', async (_what, input, field) => {
    const r = await x.s.gql(CREATE, { i: input }, { token: x.tokens.editor })
    notInternal(r)
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field })
    expect(r.errors?.[0]?.message).toContain(field)
  })

  it('in a string literal of the query, a variable and a login email', async () => {
    const literal = await x.s.gql(
      'mutation { createFolder(name: "a\\u0000b") { __typename } }',
      {},
      { token: x.tokens.admin },
    )
    notInternal(literal)
    expect(literal.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'createFolder.name',
    })
    const variable = await x.s.gql(
      'mutation($v: JSON) { setVariable(input: { name: "v", value: $v }) { __typename } }',
      { v: { a: 'x\u0000' } },
      { token: x.tokens.admin },
    )
    notInternal(variable)
    expect(variable.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: '$.v.a' })
    const login = await x.s.gql('mutation($e: String!) { login(email: $e, password: "x") { __typename } }', {
      e: 'a\u0000@b.c',
    })
    notInternal(login)
    expect(login.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: '$.e' })
  })

  it('in a webhook body: 400', async () => {
    const id = await createAutomation(x.s, x.tokens.editor!, {
      name: 'hooked',
      kind: 'NOOP',
      config: {},
      parameters: [{ name: 'p', type: 'STRING' }],
    })
    const t = await x.s.gql<{ createTrigger: { webhookUrl?: string } }>(
      'mutation($a: ID!) { createTrigger(automationId: $a, input: { type: WEBHOOK, config: {} }) { ... on TriggerPayload { webhookUrl } ... on Error { message } } }',
      { a: id },
      { token: x.tokens.editor },
    )
    const url = t.data?.createTrigger.webhookUrl
    expect(url, JSON.stringify(t)).toBeTruthy()
    const res = await fetch(url!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"p":"a\\u0000b"}',
    })
    expect(res.status).toBe(400)
    expect((await res.json()).error).toContain('body.p')
  })
})

describe('bad arguments and refused fields', () => {
  it('logs(first: -1), variables(automationId: unknown), a VIEWER asking for embedTokens', async () => {
    const id = await createAutomation(x.s, x.tokens.editor!, { name: 'logged', kind: 'NOOP', config: {} })
    const runId = await runAutomation(x.s, x.tokens.editor!, id)
    await waitForRun(x.s, x.tokens.editor!, runId)
    const logs = await x.s.gql(
      'query($id: ID!) { run(id: $id) { logs(first: -1) { id } } }',
      { id: runId },
      { token: x.tokens.editor },
    )
    notInternal(logs)
    expect(logs.errors?.[0]).toMatchObject({
      extensions: { code: 'BAD_USER_INPUT' },
      message: expect.stringContaining('first'),
    })
    const vars = await x.s.gql(
      '{ variables(automationId: "00000000-0000-0000-0000-000000000001") { name } }',
      {},
      { token: x.tokens.editor },
    )
    notInternal(vars)
    expect(vars.errors?.[0]?.extensions?.code).toBe('NOT_FOUND')
    const embed = await x.s.gql('{ embedTokens { id } }', {}, { token: x.tokens.viewer })
    notInternal(embed)
    expect(embed.errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
    expect(embed.errors?.[0]).toMatchObject({ path: ['embedTokens'] })
  })

  it('a query over the cost limit is not called a syntax error', async () => {
    const fields = Array.from(
      { length: 29 },
      (_, i) =>
        `a${i}: automations(first: 200) { edges { node { id lastRun { id logs { id } children { id logs { id } } } } } }`,
    )
    const r = await x.s.gql(`{ ${fields.join(' ')} }`, {}, { token: x.tokens.editor })
    expect(r.errors?.[0]?.message).toMatch(/cost/i)
    expect(r.errors?.[0]?.message).not.toMatch(/syntax error/i)
  })
})

describe('SWITCHYARD_GRAPHIQL=false', () => {
  it('switches GraphiQL and introspection off', async () => {
    const off = await startTestServer({ env: { SWITCHYARD_GRAPHIQL: 'false' } })
    try {
      const page = await fetch(`${off.url}/graphql`, { headers: { accept: 'text/html' } })
      expect(await page.text()).not.toContain('GraphiQL')
      const r = await off.gql('{ __schema { types { name } } }')
      expect(r.errors?.[0]?.extensions?.code).toBe('INTROSPECTION_DISABLED')
      const t = await off.gql('{ __typename }')
      expect(t.data).toEqual({ __typename: 'Query' })
    } finally {
      await off.stop()
    }
    const page = await fetch(`${x.s.url}/graphql`, { headers: { accept: 'text/html' } })
    expect(await page.text()).toContain('GraphiQL')
  })
})
