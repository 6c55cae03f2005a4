import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CREATE, createAutomation } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'

let s: TestServer
let org: TestOrg
let editor: string
let viewer: string

beforeAll(async () => {
  s = await startTestServer()
  org = await createOrg(s.db)
  editor = await s.login(org.users.editor!.email, org.users.editor!.password)
  viewer = await s.login(org.users.viewer!.email, org.users.viewer!.password)
})
afterAll(() => s?.stop())

type Created = {
  createAutomation: { __typename: string; message?: string; issues?: { path: string; message: string }[] }
}

describe('automations', () => {
  it('validates the config per kind and names the bad field', async () => {
    const r = await s.gql<Created>(
      CREATE,
      { i: { name: 'bad', kind: 'SCRIPT', config: { language: 'cobol', code: '' } } },
      { token: editor },
    )
    expect(r.data?.createAutomation.__typename).toBe('ValidationError')
    const paths = r.data!.createAutomation.issues!.map((i) => i.path)
    expect(paths).toEqual(expect.arrayContaining(['config.language', 'config.code']))
    const unknown = await s.gql<Created>(
      CREATE,
      { i: { name: 'k', kind: 'TELEPORT', config: {} } },
      { token: editor },
    )
    expect(unknown.data?.createAutomation.issues?.[0]).toMatchObject({ path: 'kind' })
    expect(unknown.data?.createAutomation.issues?.[0]?.message).toContain('SCRIPT')
  })

  it('refuses bad parameter declarations and defaults of the wrong type', async () => {
    const r = await s.gql<Created>(
      CREATE,
      {
        i: {
          name: 'p',
          kind: 'NOOP',
          config: {},
          parameters: [{ name: 'n', type: 'NUMBER', default: 'ten' }],
        },
      },
      { token: editor },
    )
    expect(r.data?.createAutomation.issues?.[0]).toEqual({
      path: 'parameters.0.default',
      message: 'must be a number',
    })
  })

  it('versions every save', async () => {
    const id = await createAutomation(s, editor, { name: 'versioned', kind: 'NOOP', config: { sleepMs: 0 } })
    await s.gql(
      `mutation($id: ID!, $i: AutomationInput!) { updateAutomation(id: $id, input: $i) { __typename } }`,
      { id, i: { name: 'versioned', kind: 'NOOP', config: { sleepMs: 5 } } },
      { token: editor },
    )
    const r = await s.gql<{
      automation: { version: number; config: { sleepMs: number }; versions: { version: number }[] }
    }>(
      `query($id: ID!) { automation(id: $id) { version config versions { version } } }`,
      { id },
      { token: editor },
    )
    expect(r.data?.automation.version).toBe(2)
    expect(r.data?.automation.config.sleepMs).toBe(5)
    expect(r.data?.automation.versions.map((v) => v.version)).toEqual([2, 1])
  })

  it('rejects a chain that would contain itself, directly or through another chain', async () => {
    const leaf = await createAutomation(s, editor, { name: 'leaf', kind: 'NOOP', config: {} })
    const inner = await createAutomation(s, editor, {
      name: 'inner',
      kind: 'CHAIN',
      config: { children: [leaf] },
    })
    const outer = await createAutomation(s, editor, {
      name: 'outer',
      kind: 'CHAIN',
      config: { children: [inner] },
    })
    const r = await s.gql<{ updateAutomation: { __typename: string; message: string } }>(
      `mutation($id: ID!, $i: AutomationInput!) { updateAutomation(id: $id, input: $i) { __typename ... on Error { message } } }`,
      { id: inner, i: { name: 'inner', kind: 'CHAIN', config: { children: [leaf, outer] } } },
      { token: editor },
    )
    expect(r.data?.updateAutomation.__typename).toBe('ValidationError')
    expect(r.data?.updateAutomation.message).toContain('contain itself')
  })

  it('refuses a VIEWER on the server', async () => {
    const r = await s.gql<Created>(CREATE, { i: { name: 'v', kind: 'NOOP', config: {} } }, { token: viewer })
    expect(r.data?.createAutomation.__typename).toBe('ForbiddenError')
  })

  it('lets only admins choose another run-as user', async () => {
    const r = await s.gql<Created>(
      CREATE,
      { i: { name: 'as-admin', kind: 'NOOP', config: {}, runAsUserId: org.users.admin!.id } },
      { token: editor },
    )
    expect(r.data?.createAutomation.__typename).toBe('ForbiddenError')
  })
})
