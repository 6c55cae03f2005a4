import { RESULT_ERRORS, mutate, type Outcome, request } from '$lib/api/graphql'
import type { ApiToken, EmbedToken } from '$lib/api/types'

type Fetch = typeof fetch

const API_TOKEN_FIELDS = 'id name prefix createdAt expiresAt lastUsedAt revoked'
const EMBED_TOKEN_FIELDS = 'id name automationIds allowedOrigins createdAt expiresAt revoked'

export async function listApiTokens(fetchFn?: Fetch): Promise<ApiToken[]> {
  return (
    await request<{ apiTokens: ApiToken[] }>(
      `query ApiTokens { apiTokens { ${API_TOKEN_FIELDS} } }`,
      {},
      fetchFn,
    )
  ).apiTokens
}

export function createApiToken(input: {
  name: string
  expiresAt: string | null
}): Promise<Outcome<{ token: string }>> {
  return mutate<{ token: string }>({
    query: `mutation CreateApiToken($name: String!, $expiresAt: DateTime) {
      createApiToken(name: $name, expiresAt: $expiresAt) { ${RESULT_ERRORS} ... on CreateApiTokenPayload { token apiToken { id } } }
    }`,
    variables: input,
    field: 'createApiToken',
  })
}

export function revokeApiToken(id: string): Promise<Outcome<unknown>> {
  return mutate({
    query: `mutation RevokeApiToken($id: ID!) { revokeApiToken(id: $id) { ${RESULT_ERRORS} } }`,
    variables: { id },
    field: 'revokeApiToken',
  })
}

export async function listEmbedTokens(fetchFn?: Fetch): Promise<EmbedToken[]> {
  return (
    await request<{ embedTokens: EmbedToken[] }>(
      `query EmbedTokens { embedTokens { ${EMBED_TOKEN_FIELDS} } }`,
      {},
      fetchFn,
    )
  ).embedTokens
}

export function createEmbedToken(input: {
  name: string
  automationIds: string[]
  allowedOrigins: string[]
  expiresAt: string | null
}): Promise<Outcome<{ token: string }>> {
  return mutate<{ token: string }>({
    query: `mutation CreateEmbedToken($name: String!, $automationIds: [ID!]!, $allowedOrigins: [String!]!, $expiresAt: DateTime) {
      createEmbedToken(name: $name, automationIds: $automationIds, allowedOrigins: $allowedOrigins, expiresAt: $expiresAt) {
        ${RESULT_ERRORS} ... on CreateEmbedTokenPayload { token embedToken { id } }
      }
    }`,
    variables: input,
    field: 'createEmbedToken',
  })
}

export function revokeEmbedToken(id: string): Promise<Outcome<unknown>> {
  return mutate({
    query: `mutation RevokeEmbedToken($id: ID!) { revokeEmbedToken(id: $id) { ${RESULT_ERRORS} } }`,
    variables: { id },
    field: 'revokeEmbedToken',
  })
}
