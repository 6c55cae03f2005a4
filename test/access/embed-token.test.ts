import { afterAll, beforeAll, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type Setup, setup } from './helpers'

// Issue 12, point 7: an embed token reads only what the run button needs, and dies with its creator.
let x: Setup
let automationId: string
let embed: string
beforeAll(async () => {
  x = await setup({ admin: 'ADMIN', editor: 'EDITOR' })
  automationId = await createAutomation(x.s, x.tokens.editor!, {
    name: 'refresh',
    kind: 'HTTP_REQUEST',
    config: { url: 'http://127.0.0.1:9/x', headers: { authorization: 'Bearer very-secret' } },
    parameters: [{ name: 'day', type: 'STRING' }],
    allowAllUsersToRun: true,
  })
  const r = await x.s.gql<{ createEmbedToken: { token: string } }>(
    'mutation($a: [ID!]!) { createEmbedToken(name: "b", automationIds: $a, allowedOrigins: ["*"]) { ... on CreateEmbedTokenPayload { token } } }',
    { a: [automationId] },
    { token: x.tokens.editor },
  )
  embed = r.data!.createEmbedToken.token
})
afterAll(() => x?.s.stop())

const asButton = <T>(query: string, variables: Record<string, unknown> = {}) =>
  x.s.gql<T>(query, variables, { token: embed, headers: { origin: 'https://bi.example' } })

it('reads the name and parameters, never the config or versions', async () => {
  const ok = await asButton<{ automation: { name: string; parameters: { name: string }[] } }>(
    'query($id: ID!) { automation(id: $id) { name parameters { name } } }',
    { id: automationId },
  )
  expect(ok.data!.automation).toEqual({ name: 'refresh', parameters: [{ name: 'day' }] })
  for (const field of [
    'config',
    'versions { definition }',
    'mutex { name }',
    'retry { maxAttempts }',
    'timeoutMs',
  ]) {
    const r = await asButton<{ automation: unknown }>(
      `query($id: ID!) { automation(id: $id) { ${field} } }`,
      {
        id: automationId,
      },
    )
    expect(JSON.stringify(r)).not.toContain('very-secret')
    expect(r.errors?.[0]?.message).toContain('may not read Automation.')
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
  }
})

it("reads its own runs' state and outputs, not their logs", async () => {
  const runId = await runAutomation(x.s, x.tokens.editor!, automationId)
  await waitForRun(x.s, x.tokens.editor!, runId)
  const mine = await asButton<{ runAutomation: { run: { id: string } } }>(
    'mutation($id: ID!) { runAutomation(id: $id) { ... on RunAutomationSuccess { run { id state } } } }',
    { id: automationId },
  )
  const id = mine.data!.runAutomation.run.id
  const read = await asButton<{ run: { state: string; outputs: unknown } }>(
    'query($id: ID!) { run(id: $id) { state outputs error } }',
    { id },
  )
  expect(read.data!.run.state).toBeDefined()
  const logs = await asButton<{ run: unknown }>('query($id: ID!) { run(id: $id) { logs { message } } }', {
    id,
  })
  expect(logs.errors?.[0]?.message).toContain('may not read Run.logs')
  const parameters = await asButton<{ run: unknown }>('query($id: ID!) { run(id: $id) { parameters } }', {
    id,
  })
  expect(parameters.errors?.[0]?.message).toContain('may not read Run.parameters')
})

it('dies with its creator', async () => {
  const del = await x.s.gql<{ deleteUser: { __typename: string } }>(
    'mutation($id: ID!) { deleteUser(id: $id) { __typename } }',
    { id: x.org.users.editor!.id },
    { token: x.tokens.admin },
  )
  expect(del.data!.deleteUser.__typename).toBe('DeleteUserSuccess')
  const r = await asButton<{ automation: unknown }>('query($id: ID!) { automation(id: $id) { name } }', {
    id: automationId,
  })
  expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED')
})
