import { afterAll, beforeAll, expect, it } from 'vitest'
import { createAutomation, runAutomation } from '../helpers/automations'
import { type Setup, UPDATE, setup } from './helpers'

// Issue 12, point 9: every change and manual run is in the audit log.
let x: Setup
beforeAll(async () => {
  x = await setup({ admin: 'ADMIN', editor: 'EDITOR', viewer: 'VIEWER' })
})
afterAll(() => x?.s.stop())

interface Event {
  actor: string
  actorUserId: string | null
  action: string
  targetType: string | null
  targetId: string | null
  outcome: string
  details: Record<string, unknown>
  address: string | null
  userAgent: string | null
}
const EVENTS = `query($action: String, $actor: ID, $target: String, $first: Int, $after: String) {
  auditEvents(action: $action, actorUserId: $actor, targetId: $target, first: $first, after: $after) {
    edges { cursor node { actor actorUserId action targetType targetId outcome details address userAgent } }
    pageInfo { hasNextPage endCursor } } }`
type Page = {
  auditEvents: { edges: { node: Event }[]; pageInfo: { hasNextPage: boolean; endCursor: string } }
}
const events = async (vars: Record<string, unknown> = {}) => {
  const r = await x.s.gql<Page>(EVENTS, vars, { token: x.tokens.admin })
  if (!r.data) throw new Error(JSON.stringify(r))
  return r.data.auditEvents
}

it('records who, when, what and from where for changes and manual runs, masking secrets', async () => {
  const id = await createAutomation(x.s, x.tokens.editor!, { name: 'audited', kind: 'NOOP', config: {} })
  await x.s.gql(
    UPDATE,
    { id, i: { name: 'audited', kind: 'NOOP', config: {}, runAsUserId: x.org.users.admin!.id } },
    { token: x.tokens.admin },
  )
  await runAutomation(x.s, x.tokens.viewer!, id).catch(() => undefined)
  await runAutomation(x.s, x.tokens.editor!, id)
  await x.s.gql(
    'mutation { setSecret(name: "DB_PASSWORD", value: "hunter2-long") { __typename } }',
    {},
    { token: x.tokens.admin },
  )
  await x.s.gql(
    'mutation { createUser(email: "n@example.test", name: "N", role: VIEWER, password: "pw-12345678") { __typename } }',
    {},
    { token: x.tokens.admin },
  )
  const all = (await events({ first: 100 })).edges.map((e) => e.node)
  const created = all.find((e) => e.action === 'createAutomation')!
  expect(created).toMatchObject({
    actor: x.org.users.editor!.email,
    actorUserId: x.org.users.editor!.id,
    targetType: 'Automation',
    targetId: id,
    outcome: 'OK',
    address: expect.stringMatching(/127\.0\.0\.1/),
  })
  expect(created.userAgent).toBeTruthy()
  const runAs = all.find((e) => e.action === 'updateAutomation')!
  expect(runAs.details).toMatchObject({ id, input: { runAsUserId: x.org.users.admin!.id } })
  const runs = all.filter((e) => e.action === 'runAutomation')
  expect(runs.map((r) => [r.actor, r.outcome])).toEqual([
    [x.org.users.editor!.email, 'OK'],
    [x.org.users.viewer!.email, 'ForbiddenError'],
  ])
  expect(JSON.stringify(all)).not.toContain('hunter2-long')
  expect(JSON.stringify(all)).not.toContain('pw-12345678')
  expect(all.find((e) => e.action === 'setSecret')!.details).toMatchObject({
    name: 'DB_PASSWORD',
    value: '***',
  })
})

it('filters by action, actor and target, and pages newest first', async () => {
  const byAction = await events({ action: 'runAutomation' })
  expect(byAction.edges.every((e) => e.node.action === 'runAutomation')).toBe(true)
  const byActor = await events({ actor: x.org.users.viewer!.id })
  // The viewer signed in, and tried one run.
  expect(byActor.edges.map((e) => [e.node.actor, e.node.action])).toEqual([
    [x.org.users.viewer!.email, 'runAutomation'],
    [x.org.users.viewer!.email, 'login'],
  ])
  const page1 = await events({ first: 2 })
  expect(page1.edges).toHaveLength(2)
  expect(page1.pageInfo.hasNextPage).toBe(true)
  const page2 = await events({ first: 2, after: page1.pageInfo.endCursor })
  expect(page2.edges[0]!.node).not.toEqual(page1.edges[1]!.node)
  const bad = await x.s.gql(EVENTS, { first: -1 }, { token: x.tokens.admin })
  expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
})

it('is for admins only', async () => {
  for (const who of ['editor', 'viewer']) {
    const r = await x.s.gql(EVENTS, {}, { token: x.tokens[who] })
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
  }
})
