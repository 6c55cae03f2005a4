import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'

let s: TestServer
let org: TestOrg
const tokens: Record<string, string> = {}

beforeAll(async () => {
  s = await startTestServer()
  org = await createOrg(s.db)
  for (const [key, u] of Object.entries(org.users)) tokens[key] = await s.login(u.email, u.password)
}, 120_000)

afterAll(async () => {
  await s?.stop()
})

const VERSIONS = `query($id: ID!) { automationVersions(automationId: $id) {
  version createdAt definition createdBy { email } } }`

const RESTORE = `mutation($id: ID!, $v: Int!) { restoreAutomationVersion(automationId: $id, version: $v) {
  __typename ... on RestoreAutomationVersionSuccess { automation { id version config timeoutMs retry { maxAttempts backoffMs }
    runAsUser { email } } }
  ... on ValidationError { message issues { path message } } ... on Error { message } } }`

const UPDATE = `mutation($id: ID!, $i: AutomationInput!) { updateAutomation(id: $id, input: $i) {
  __typename ... on UpdateAutomationSuccess { automation { version } } ... on Error { message } } }`

type Restored = {
  restoreAutomationVersion: {
    __typename: string
    message?: string
    issues?: { path: string }[]
    automation?: {
      version: number
      config: Record<string, unknown>
      timeoutMs: number | null
      retry: { maxAttempts: number; backoffMs: number }
      runAsUser: { email: string } | null
    }
  }
}

const sql = (n: number) => ({
  name: `versioned ${Math.random().toString(36).slice(2, 8)}`,
  kind: 'SQL',
  config: { statement: `select ${n} as n` },
})

async function update(token: string, id: string, input: Record<string, unknown>) {
  const r = await s.gql<{ updateAutomation: { __typename: string; message?: string } }>(
    UPDATE,
    { id, i: input },
    { token },
  )
  expect(r.data?.updateAutomation.__typename, JSON.stringify(r)).toBe('UpdateAutomationSuccess')
}

describe('automation versions', () => {
  it('lists every version with who saved it and when, newest first', async () => {
    const first = sql(1)
    const id = await createAutomation(s, tokens.admin!, first)
    await update(tokens.editor!, id, { ...sql(2), name: first.name, runAsUserId: org.users.editor!.id })
    const r = await s.gql<{
      automationVersions: {
        version: number
        createdAt: string
        definition: { config: unknown }
        createdBy: { email: string }
      }[]
    }>(VERSIONS, { id }, { token: tokens.viewer! })
    expect(r.errors).toBeUndefined()
    const versions = r.data!.automationVersions
    expect(versions.map((v) => v.version)).toEqual([2, 1])
    expect(versions.map((v) => v.createdBy.email)).toEqual([org.users.editor!.email, org.users.admin!.email])
    expect(versions[1]!.definition.config).toMatchObject({ statement: 'select 1 as n' })
    expect(new Date(versions[0]!.createdAt) >= new Date(versions[1]!.createdAt)).toBe(true)
  })

  it('restores an old version as a new one, equal to it, and runs it', async () => {
    const first = { ...sql(1), timeoutMs: 5000, retry: { maxAttempts: 2, backoffMs: 10 } }
    const id = await createAutomation(s, tokens.admin!, first)
    await update(tokens.admin!, id, { ...sql(2), name: first.name })
    const r = await s.gql<Restored>(RESTORE, { id, v: 1 }, { token: tokens.admin! })
    const restored = r.data!.restoreAutomationVersion
    expect(restored.__typename, JSON.stringify(r)).toBe('RestoreAutomationVersionSuccess')
    expect(restored.automation!.version).toBe(3)
    expect(restored.automation!.config.statement).toBe('select 1 as n')
    expect(restored.automation!.timeoutMs).toBe(5000)
    expect(restored.automation!.retry).toEqual({ maxAttempts: 2, backoffMs: 10 })
    const versions = await s.gql<{
      automationVersions: { version: number; definition: Record<string, unknown> }[]
    }>(VERSIONS, { id }, { token: tokens.admin! })
    const [v3, , v1] = versions.data!.automationVersions
    expect(v3!.definition).toEqual(v1!.definition)
    const run = await waitForRun(s, tokens.admin!, await runAutomation(s, tokens.admin!, id))
    expect(run.state).toBe('SUCCEEDED')
    expect(run.version).toBe(3)
  })

  it('obeys the run-as rule: a non-admin cannot restore a version that runs as someone else', async () => {
    const first = sql(1)
    const id = await createAutomation(s, tokens.admin!, first) // runs as the admin
    // The editor may edit, but not save a version that runs as the admin…
    const refused = await s.gql<Restored>(RESTORE, { id, v: 1 }, { token: tokens.editor! })
    expect(refused.data!.restoreAutomationVersion.__typename).toBe('RunAsForbiddenError')
    // …so takes it over, then tries to bring back version 1, which ran as the admin.
    await update(tokens.editor!, id, { ...sql(2), name: first.name, runAsUserId: org.users.editor!.id })
    const back = await s.gql<Restored>(RESTORE, { id, v: 1 }, { token: tokens.editor! })
    expect(back.data!.restoreAutomationVersion.__typename).toBe('ForbiddenError')
    expect(back.data!.restoreAutomationVersion.message).toContain(
      'only admins may make an automation run as another user',
    )
    // An admin may.
    const admin = await s.gql<Restored>(RESTORE, { id, v: 1 }, { token: tokens.admin! })
    expect(admin.data!.restoreAutomationVersion.automation?.runAsUser?.email).toBe(org.users.admin!.email)
  })

  it('refuses viewers, unknown versions and other organizations', async () => {
    const id = await createAutomation(s, tokens.admin!, sql(1))
    const viewer = await s.gql<Restored>(RESTORE, { id, v: 1 }, { token: tokens.viewer! })
    expect(viewer.errors?.[0]?.extensions?.code ?? viewer.data?.restoreAutomationVersion.__typename).toMatch(
      /FORBIDDEN|ForbiddenError/,
    )
    const unknown = await s.gql<Restored>(RESTORE, { id, v: 9 }, { token: tokens.admin! })
    expect(unknown.data!.restoreAutomationVersion.__typename).toBe('ValidationError')
    expect(unknown.data!.restoreAutomationVersion.issues?.map((i) => i.path)).toEqual(['version'])
    const other = await createOrg(s.db)
    const stranger = await s.login(other.users.admin!.email, other.users.admin!.password)
    const foreign = await s.gql<Restored>(RESTORE, { id, v: 1 }, { token: stranger })
    expect(foreign.data!.restoreAutomationVersion.__typename).toBe('NotFoundError')
    const list = await s.gql(VERSIONS, { id }, { token: stranger })
    expect(list.errors?.[0]?.extensions?.code).toBe('NOT_FOUND')
  })
})
