import { afterAll, beforeAll, expect, it } from 'vitest'
import { Channel } from '../../server/src/events/channels'
import { type Setup, setup } from './helpers'

// Point 4 belongs to the engine rewrite; this checks the announcement it listens to.
let x: Setup
const heard: { orgId: string; userId?: string }[] = []
let unlisten: () => Promise<void>
beforeAll(async () => {
  x = await setup({ admin: 'ADMIN', editor: 'EDITOR', viewer: 'VIEWER' })
  unlisten = await x.s.db.listen(Channel.ACCESS, (p) => heard.push(JSON.parse(p)))
})
afterAll(async () => {
  await unlisten?.()
  await x?.s.stop()
})

const until = async (pred: () => boolean) => {
  for (let i = 0; i < 100 && !pred(); i++) await new Promise((r) => setTimeout(r, 50))
  return pred()
}

it('revoking a token, changing a role, a grant, signing out and deleting a user are announced on sy_access', async () => {
  const { s, org, tokens } = x
  const orgId = org.id
  const mk = await s.gql<{ createApiToken: { apiToken: { id: string } } }>(
    'mutation { createApiToken(name: "ci") { ... on CreateApiTokenPayload { apiToken { id } } } }',
    {},
    { token: tokens.editor },
  )
  await s.gql(
    `mutation { revokeApiToken(id: "${mk.data!.createApiToken.apiToken.id}") { __typename } }`,
    {},
    { token: tokens.editor },
  )
  expect(await until(() => heard.some((h) => h.userId === org.users.editor!.id))).toBe(true)
  heard.length = 0
  await s.gql(
    `mutation { setUserRole(id: "${org.users.viewer!.id}", role: EDITOR) { __typename } }`,
    {},
    { token: tokens.admin },
  )
  expect(await until(() => heard.some((h) => h.userId === org.users.viewer!.id && h.orgId === orgId))).toBe(
    true,
  )
  heard.length = 0
  const f = await s.gql<{ createFolder: { folder: { id: string } } }>(
    'mutation { createFolder(name: "F") { ... on CreateFolderSuccess { folder { id } } } }',
    {},
    { token: tokens.admin },
  )
  await s.gql(
    `mutation { grantFolder(folderId: "${f.data!.createFolder.folder.id}", role: EDITOR, permission: VIEW) { __typename } }`,
    {},
    { token: tokens.admin },
  )
  expect(await until(() => heard.some((h) => h.orgId === orgId && h.userId === undefined))).toBe(true)
  heard.length = 0
  const session = await s.login(org.users.viewer!.email, org.users.viewer!.password)
  await s.gql('mutation { logout }', {}, { headers: { cookie: `sy_session=${session}` } })
  expect(await until(() => heard.some((h) => h.userId === org.users.viewer!.id))).toBe(true)
  heard.length = 0
  await s.gql(
    `mutation { deleteUser(id: "${org.users.viewer!.id}") { __typename } }`,
    {},
    { token: tokens.admin },
  )
  expect(await until(() => heard.some((h) => h.userId === org.users.viewer!.id))).toBe(true)
})
