import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'

export const UPDATE = `mutation($id: ID!, $i: AutomationInput!) { updateAutomation(id: $id, input: $i) {
  __typename ... on UpdateAutomationSuccess { automation { id version runAsUser { id } } }
  ... on RunAsForbiddenError { runAsUserId } ... on ValidationError { issues { path message } } ... on Error { message } } }`

export const RETRY = `mutation($id: ID!) { retryRun(id: $id) { __typename
  ... on RetryRunSuccess { run { id } } ... on Error { message } } }`

export interface Setup {
  s: TestServer
  org: TestOrg
  /** Bearer tokens by user key. */
  tokens: Record<string, string>
}

/** A server and an organization whose users (admin, editor, viewer by default) are signed in. */
export async function setup(
  roles?: Parameters<typeof createOrg>[1],
  env?: Record<string, string>,
): Promise<Setup> {
  const s = await startTestServer(env ? { env } : {})
  const org = await createOrg(s.db, roles)
  const tokens: Record<string, string> = {}
  for (const [key, u] of Object.entries(org.users)) tokens[key] = await s.login(u.email, u.password)
  return { s, org, tokens }
}

/** Creates a folder restricted to the given grants (admin only). */
export async function restrictedFolder(x: Setup, name: string, grants: string[]): Promise<string> {
  const f = await x.s.gql<{ createFolder: { folder: { id: string } } }>(
    'mutation($n: String!) { createFolder(name: $n) { ... on CreateFolderSuccess { folder { id } } } }',
    { n: name },
    { token: x.tokens.admin },
  )
  const folderId = f.data!.createFolder.folder.id
  for (const g of grants) {
    const r = await x.s.gql<{ grantFolder: { __typename: string } }>(
      `mutation { grantFolder(folderId: "${folderId}", ${g}) { __typename } }`,
      {},
      { token: x.tokens.admin },
    )
    if (r.data?.grantFolder.__typename !== 'GrantFolderSuccess') throw new Error(JSON.stringify(r))
  }
  return folderId
}
