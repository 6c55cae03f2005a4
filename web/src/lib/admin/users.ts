import { USER_FIELDS } from '$lib/api/fragments'
import { RESULT_ERRORS, mutate, type Outcome, request } from '$lib/api/graphql'
import type { Role, User } from '$lib/api/types'

type Fetch = typeof fetch

export async function listUsers(fetchFn?: Fetch): Promise<User[]> {
  return (await request<{ users: User[] }>(`query Users { users { ${USER_FIELDS} } }`, {}, fetchFn)).users
}

export function createUser(input: {
  email: string
  name: string
  role: Role
  password?: string
}): Promise<Outcome<{ user: User; initialPassword: string | null }>> {
  return mutate<{ user: User; initialPassword: string | null }>({
    query: `mutation CreateUser($email: String!, $name: String!, $role: Role!, $password: String) {
      createUser(email: $email, name: $name, role: $role, password: $password) {
        ${RESULT_ERRORS} ... on CreateUserPayload { user { ${USER_FIELDS} } initialPassword }
      }
    }`,
    variables: input,
    field: 'createUser',
  })
}

export function setUserRole(id: string, role: Role): Promise<Outcome<User>> {
  return mutate<User>({
    query: `mutation SetRole($id: ID!, $role: Role!) { setUserRole(id: $id, role: $role) { ${RESULT_ERRORS} ... on SetUserRoleSuccess { user { ${USER_FIELDS} } } } }`,
    variables: { id, role },
    field: 'setUserRole',
    key: 'user',
  })
}

/** Grants or withdraws an editor the right to create, rotate and delete secrets. */
export function setSecretManager(userId: string, allowed: boolean): Promise<Outcome<User>> {
  return mutate<User>({
    query: `mutation SetSecretManager($userId: ID!, $allowed: Boolean!) { setSecretManager(userId: $userId, allowed: $allowed) { ${RESULT_ERRORS} ... on SetSecretManagerSuccess { user { ${USER_FIELDS} } } } }`,
    variables: { userId, allowed },
    field: 'setSecretManager',
    key: 'user',
  })
}

export function deleteUser(id: string): Promise<Outcome<User>> {
  return mutate<User>({
    query: `mutation DeleteUser($id: ID!) { deleteUser(id: $id) { ${RESULT_ERRORS} ... on DeleteUserSuccess { user { ${USER_FIELDS} } } } }`,
    variables: { id },
    field: 'deleteUser',
    key: 'user',
  })
}

/** Adds a user who chooses a password through a one-time link; returns the link's secret. */
export function inviteUser(input: {
  email: string
  name: string
  role: Role
}): Promise<Outcome<{ user: User; inviteUrl: string; expiresAt: string }>> {
  return mutate<{ user: User; inviteUrl: string; expiresAt: string }>({
    query: `mutation InviteUser($email: String!, $name: String!, $role: Role!) {
      inviteUser(email: $email, name: $name, role: $role) {
        ${RESULT_ERRORS} ... on InviteUserPayload { user { ${USER_FIELDS} } inviteUrl expiresAt }
      }
    }`,
    variables: input,
    field: 'inviteUser',
  })
}
