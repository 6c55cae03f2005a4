import type { Client } from 'graphql-ws'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type TestDatabase, testDatabase } from '../helpers/db'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'

// Issue 12, point 4, "on every node": a subscription held by one node ends when access
// changes through another (the change is announced on the event bus both listen to).
let database: TestDatabase
let a: TestServer
let b: TestServer
let org: TestOrg
let admin: string
let automationId: string
beforeAll(async () => {
  database = await testDatabase()
  a = await startTestServer({ database })
  b = await startTestServer({ database })
  org = await createOrg(database.db, { admin: 'ADMIN', editor: 'EDITOR', demoted: 'EDITOR' })
  admin = await a.login(org.users.admin!.email, org.users.admin!.password)
  automationId = await createAutomation(a, admin, { name: 'watched', kind: 'NOOP', config: {} })
})
afterAll(async () => {
  await a?.stop()
  await b?.stop()
  await database?.drop()
})

/** Subscribes on a node; resolves `ended` with why the server ended it. */
function watch(client: Client) {
  const states: string[] = []
  const ended = new Promise<string>((resolve) => {
    client.subscribe<{ runUpdated: { state: string } }>(
      {
        query: 'subscription($a: ID!) { runUpdated(automationId: $a) { state } }',
        variables: { a: automationId },
      },
      {
        next: (r) => (r.errors ? resolve(JSON.stringify(r.errors)) : states.push(r.data!.runUpdated.state)),
        error: (e) => resolve(e instanceof Error ? e.message : JSON.stringify(e)),
        complete: () => resolve('completed'),
      },
    )
  })
  return { states, ended }
}

const within5s = <T>(p: Promise<T>) =>
  Promise.race([p, new Promise<string>((r) => setTimeout(() => r('still open after 5 s'), 5000))])

/** The watch delivers runs now (so it is live before the change). */
async function live(w: ReturnType<typeof watch>) {
  const before = w.states.length
  await waitForRun(a, admin, await runAutomation(a, admin, automationId))
  for (let i = 0; i < 100 && w.states.length === before; i++) await new Promise((r) => setTimeout(r, 50))
  expect(w.states.length).toBeGreaterThan(before)
}

it('a token revoked on node A ends its subscription on node B within 5 s', async () => {
  const session = await a.login(org.users.editor!.email, org.users.editor!.password)
  const t = await a.gql<{ createApiToken: { token: string; apiToken: { id: string } } }>(
    'mutation { createApiToken(name: "live") { ... on CreateApiTokenPayload { token apiToken { id } } } }',
    {},
    { token: session },
  )
  const w = watch(b.wsClient(t.data!.createApiToken.token))
  await live(w)
  await a.gql(
    'mutation($id: ID!) { revokeApiToken(id: $id) { __typename } }',
    {
      id: t.data!.createApiToken.apiToken.id,
    },
    { token: session },
  )
  expect(await within5s(w.ended)).toMatch(/UNAUTHENTICATED|access changed/)
})

it('a role changed on node A ends the subscription on node B within 5 s', async () => {
  const token = await b.login(org.users.demoted!.email, org.users.demoted!.password)
  const w = watch(b.wsClient(token))
  await live(w)
  await a.gql(
    'mutation($id: ID!) { setUserRole(id: $id, role: VIEWER) { __typename } }',
    {
      id: org.users.demoted!.id,
    },
    { token: admin },
  )
  expect(await within5s(w.ended)).toMatch(/UNAUTHENTICATED|access changed/)
})
