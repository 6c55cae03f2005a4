import { RESULT_ERRORS, mutate, type Outcome, request } from '$lib/api/graphql'
import type { Folder, Permission, Role } from '$lib/api/types'

type Fetch = typeof fetch

export async function listFoldersWithGrants(fetchFn?: Fetch): Promise<Folder[]> {
  const data = await request<{ folders: Folder[] }>(
    'query FolderGrants { folders { id name grants { id folderId permission role userId } } }',
    {},
    fetchFn,
  )
  return data.folders
}

export function createFolder(name: string): Promise<Outcome<unknown>> {
  return mutate({
    query: `mutation CreateFolder($name: String!) { createFolder(name: $name) { ${RESULT_ERRORS} } }`,
    variables: { name },
    field: 'createFolder',
  })
}

export function deleteFolder(id: string): Promise<Outcome<unknown>> {
  return mutate({
    query: `mutation DeleteFolder($id: ID!) { deleteFolder(id: $id) { ${RESULT_ERRORS} } }`,
    variables: { id },
    field: 'deleteFolder',
  })
}

/** Grants a permission on a folder to one user or to every user of a role. */
export function grantFolder(input: {
  folderId: string
  permission: Permission
  role?: Role
  userId?: string
}): Promise<Outcome<unknown>> {
  return mutate({
    query: `mutation GrantFolder($folderId: ID!, $permission: Permission!, $role: Role, $userId: ID) {
      grantFolder(folderId: $folderId, permission: $permission, role: $role, userId: $userId) { ${RESULT_ERRORS} }
    }`,
    variables: input,
    field: 'grantFolder',
  })
}

export function revokeFolderGrant(id: string): Promise<Outcome<unknown>> {
  return mutate({
    query: `mutation RevokeGrant($id: ID!) { revokeFolderGrant(id: $id) { ${RESULT_ERRORS} } }`,
    variables: { id },
    field: 'revokeFolderGrant',
  })
}
