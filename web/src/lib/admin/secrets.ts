import { RESULT_ERRORS, mutate, type Outcome, request } from '$lib/api/graphql'
import type { Secret } from '$lib/api/types'

type Fetch = typeof fetch

/**
 * The organization secrets (the value never comes back), with where they are used
 * for admins: an editor granted manageSecrets manages them but does not see their usages.
 */
export async function listSecrets(fetchFn?: Fetch, withUsages = true): Promise<Secret[]> {
  const usages = withUsages ? 'usages { automationId automationName uses lastRunId lastUsedAt }' : ''
  return (
    await request<{ secrets: Secret[] }>(
      `query Secrets { secrets { id name description updatedAt updatedBy { email } ${usages} } }`,
      {},
      fetchFn,
    )
  ).secrets
}

/** Creates a secret, or rotates the value of the one with this name. */
export function setSecret(input: {
  name: string
  value: string
  description: string
}): Promise<Outcome<unknown>> {
  return mutate({
    query: `mutation SetSecret($name: String!, $value: String!, $description: String) {
      setSecret(name: $name, value: $value, description: $description) { ${RESULT_ERRORS} }
    }`,
    variables: input,
    field: 'setSecret',
  })
}

export function deleteSecret(name: string): Promise<Outcome<unknown>> {
  return mutate({
    query: `mutation DeleteSecret($name: String!) { deleteSecret(name: $name) { ${RESULT_ERRORS} } }`,
    variables: { name },
    field: 'deleteSecret',
  })
}
