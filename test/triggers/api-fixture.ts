import { afterAll, beforeAll } from 'vitest'
import { createAutomation } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'

// The server and users the trigger API suites share; bindings are filled by useTriggerApi().
export let s: TestServer
export let org: TestOrg
export let other: TestOrg
export let editor: string
export let viewer: string
export let stranger: string

/** Starts one server for the calling test file, with an organization and a stranger's. */
export function useTriggerApi(): void {
  beforeAll(async () => {
    s = await startTestServer()
    org = await createOrg(s.db)
    other = await createOrg(s.db)
    editor = await s.login(org.users.editor!.email, org.users.editor!.password)
    viewer = await s.login(org.users.viewer!.email, org.users.viewer!.password)
    stranger = await s.login(other.users.editor!.email, other.users.editor!.password)
  })
  afterAll(() => s?.stop())
}

export const CREATE = `mutation($a: ID!, $i: TriggerInput!) { createTrigger(automationId: $a, input: $i) {
  __typename ... on TriggerPayload { trigger { id type nextFireTimes(count: 3) } }
  ... on ValidationError { message issues { path message } } ... on Error { message } } }`

export interface Created {
  __typename: string
  message?: string
  issues?: { path: string; message: string }[]
  trigger?: { id: string; type: string; nextFireTimes: string[] }
}

export async function create(
  token: string,
  automationId: string,
  input: Record<string, unknown>,
): Promise<Created> {
  const r = await s.gql<{ createTrigger: Created }>(CREATE, { a: automationId, i: input }, { token })
  if (!r.data) throw new Error(JSON.stringify(r.errors))
  return r.data.createTrigger
}

export const noop = (name: string, extra: Record<string, unknown> = {}) =>
  createAutomation(s, editor, { name, kind: 'NOOP', config: {}, ...extra })
