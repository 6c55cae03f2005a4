import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RUN, createAutomation } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'

let s: TestServer
let org: TestOrg
const tokens: Record<string, string> = {}
let folderId: string
let automationId: string

beforeAll(async () => {
  s = await startTestServer()
  org = await createOrg(s.db, { admin: 'ADMIN', editor: 'EDITOR', other: 'EDITOR', viewer: 'VIEWER' })
  for (const key of Object.keys(org.users))
    tokens[key] = await s.login(org.users[key]!.email, org.users[key]!.password)
  const f = await s.gql<{ createFolder: { folder: { id: string } } }>(
    'mutation { createFolder(name: "Finance") { ... on CreateFolderSuccess { folder { id } } } }',
    {},
    { token: tokens.admin },
  )
  folderId = f.data!.createFolder.folder.id
  automationId = await createAutomation(s, tokens.editor!, {
    name: 'ledger',
    kind: 'NOOP',
    config: {},
    folderId,
  })
})
afterAll(() => s?.stop())

const sees = async (who: string) => {
  const r = await s.gql<{
    automation: { id: string } | null
    automations: { edges: { node: { id: string } }[] }
    folders: { id: string }[]
  }>(
    'query($id: ID!) { automation(id: $id) { id } automations { edges { node { id } } } folders { id } }',
    { id: automationId },
    { token: tokens[who] },
  )
  return {
    byId: r.data?.automation?.id === automationId,
    inList: r.data!.automations.edges.some((e) => e.node.id === automationId),
    folder: r.data!.folders.some((f) => f.id === folderId),
  }
}

const grant = (input: string) =>
  s.gql<{ grantFolder: { grant?: { id: string }; __typename: string } }>(
    `mutation { grantFolder(folderId: "${folderId}", ${input}) { __typename ... on GrantFolderSuccess { grant { id } } } }`,
    {},
    { token: tokens.admin },
  )

describe('folder grants', () => {
  it('a folder without grants is open to the organization by role', async () => {
    expect(await sees('other')).toEqual({ byId: true, inList: true, folder: true })
    expect(await sees('viewer')).toEqual({ byId: true, inList: true, folder: true })
  })

  it('a folder with grants is visible only to admins and grantees, and capped by role', async () => {
    const g1 = await grant(`userId: "${org.users.editor!.id}", permission: EDIT`)
    const g2 = await grant('role: VIEWER, permission: EDIT')
    expect(g1.data?.grantFolder.__typename).toBe('GrantFolderSuccess')
    expect(await sees('admin')).toEqual({ byId: true, inList: true, folder: true })
    expect(await sees('editor')).toEqual({ byId: true, inList: true, folder: true })
    // Another editor is not named: the folder and what is in it do not exist for them.
    expect(await sees('other')).toEqual({ byId: false, inList: false, folder: false })
    const run = await s.gql<{ runAutomation: { __typename: string } }>(
      RUN,
      { id: automationId },
      { token: tokens.other },
    )
    expect(run.data?.runAutomation.__typename).toBe('NotFoundError')
    // A VIEWER granted EDIT still only views: the role is the ceiling.
    expect(await sees('viewer')).toEqual({ byId: true, inList: true, folder: true })
    const viewerRun = await s.gql<{ runAutomation: { __typename: string } }>(
      RUN,
      { id: automationId },
      { token: tokens.viewer },
    )
    expect(viewerRun.data?.runAutomation.__typename).toBe('ForbiddenError')
    // The grantee editor may run and edit.
    const editorRun = await s.gql<{ runAutomation: { __typename: string } }>(
      RUN,
      { id: automationId },
      { token: tokens.editor },
    )
    expect(editorRun.data?.runAutomation.__typename).toBe('RunAutomationSuccess')
    for (const g of [g1, g2]) {
      await s.gql(
        `mutation { revokeFolderGrant(id: "${g.data!.grantFolder.grant!.id}") { __typename } }`,
        {},
        { token: tokens.admin },
      )
    }
    expect(await sees('other')).toEqual({ byId: true, inList: true, folder: true })
  })

  it('only admins manage folders and grants, and grants name exactly one grantee', async () => {
    const byEditor = await s.gql<{ createFolder: { __typename: string } }>(
      'mutation { createFolder(name: "X") { __typename } }',
      {},
      { token: tokens.editor },
    )
    expect(byEditor.data?.createFolder.__typename).toBe('ForbiddenError')
    const both = await grant(`userId: "${org.users.editor!.id}", role: VIEWER, permission: VIEW`)
    expect(both.data?.grantFolder.__typename).toBe('ValidationError')
    const dup = await s.gql<{ createFolder: { __typename: string } }>(
      'mutation { createFolder(name: "Finance") { __typename } }',
      {},
      { token: tokens.admin },
    )
    expect(dup.data?.createFolder.__typename).toBe('ValidationError')
  })
})
