import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CREATE, createAutomation } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'
import { createWorkflow } from './helpers'

let s: TestServer
let org: TestOrg
let editor: string
let ok: string

beforeAll(async () => {
  s = await startTestServer()
  org = await createOrg(s.db)
  editor = await s.login(org.users.editor!.email, org.users.editor!.password)
  ok = await createAutomation(s, editor, { name: 'ok', kind: 'NOOP', config: {} })
})
afterAll(() => s?.stop())

type Issues = { path: string; message: string }[]
async function refused(config: Record<string, unknown>): Promise<Issues> {
  const r = await s.gql<{ createAutomation: { __typename: string; issues?: Issues } }>(
    CREATE,
    { i: { name: `bad-${Math.random()}`, kind: 'WORKFLOW', config } },
    { token: editor },
  )
  expect(r.data?.createAutomation.__typename, JSON.stringify(r)).toBe('ValidationError')
  return r.data!.createAutomation.issues!
}
const step = (name: string, extra: Record<string, unknown> = {}) => ({ name, automationId: ok, ...extra })

describe('a workflow is checked at save, each error naming its step or edge', () => {
  it('refuses cycles, unknown steps, doubled names and edges', async () => {
    expect(
      await refused({
        steps: [step('a'), step('b'), step('c')],
        edges: [
          { from: 'a', to: 'b' },
          { from: 'b', to: 'c' },
          { from: 'c', to: 'b' },
        ],
      }),
    ).toEqual([
      { path: 'config.edges', message: 'steps b, c form a cycle, so they are unreachable from any root' },
    ])
    expect(await refused({ steps: [step('a')], edges: [{ from: 'a', to: 'ghost' }] })).toEqual([
      { path: 'config.edges.0.to', message: 'no step "ghost"' },
    ])
    expect(await refused({ steps: [step('a'), step('a')] })).toEqual([
      { path: 'config.steps.1.name', message: 'step "a" is defined twice' },
    ])
  })

  it('refuses rules that can never fire and steps that can never be reached', async () => {
    expect(await refused({ steps: [step('a', { rule: 'ONE_FAILED' })] })).toEqual([
      { path: 'config.steps.0.rule', message: 'ONE_FAILED can never fire on a step without incoming edges' },
    ])
    const issues = await refused({
      steps: [step('check', { ignoreFailure: true }), step('alert')],
      edges: [{ from: 'check', to: 'alert', condition: 'FAILURE' }],
    })
    expect(issues[0]!.path).toBe('config.steps.1')
    expect(issues[0]!.message).toContain('unreachable')
  })

  it('refuses references to outputs and variables no earlier step provides', async () => {
    const issues = await refused({
      variables: [{ name: 'known', default: 1 }],
      steps: [
        step('a', { condition: 'steps.b.outputs.n > 1' }),
        step('b', { parameters: { x: '${variables.unknown}', y: '${variables.known}' } }),
        step('c', { condition: 'stepOutcome_ghost == "SUCCESS"', parameters: { z: '${item}' } }),
      ],
      edges: [{ from: 'a', to: 'b' }],
    })
    expect(issues).toEqual([
      { path: 'config.steps.0.condition', message: 'steps.b.outputs.n: step "b" does not come before "a"' },
      {
        path: 'config.steps.1.parameters.x',
        message: 'variables.unknown: no variable "unknown" is declared or saved by an earlier step',
      },
      { path: 'config.steps.2.condition', message: 'stepOutcome_ghost: there is no step "ghost"' },
      { path: 'config.steps.2.parameters.z', message: 'item exists only in a forEach step' },
    ])
    expect(await refused({ steps: [step('a', { condition: '1 +' })] })).toEqual([
      { path: 'config.steps.0.condition', message: 'unexpected end of expression' },
    ])
    expect(await refused({ steps: [step('a', { saveAs: { variable: 'v' } })] })).toEqual([
      { path: 'config.steps.0.saveAs', message: 'only an SQL step (inline or of kind SQL) has rows to save' },
    ])
  })

  it('refuses a workflow that would contain itself through a chain, and unknown automations', async () => {
    const wf = await createWorkflow(s, editor, 'outer', { steps: [step('a')] })
    const chain = await createAutomation(s, editor, {
      name: 'inner',
      kind: 'CHAIN',
      config: { children: [wf] },
    })
    const r = await s.gql<{ updateAutomation: { __typename: string; issues?: Issues } }>(
      `mutation($id: ID!, $i: AutomationInput!) { updateAutomation(id: $id, input: $i) {
        __typename ... on ValidationError { issues { path message } } } }`,
      {
        id: wf,
        i: { name: 'outer', kind: 'WORKFLOW', config: { steps: [{ name: 'c', automationId: chain }] } },
      },
      { token: editor },
    )
    expect(r.data?.updateAutomation.issues).toEqual([
      { path: 'config.steps', message: `the workflow would contain itself through ${chain} → ${wf}` },
    ])
    const missing = await refused({
      steps: [{ name: 'a', automationId: '00000000-0000-4000-8000-000000000000' }],
    })
    expect(missing[0]!.message).toContain('no such automation')
  })

  it('refuses a step that runs both an automation and a statement, or neither', async () => {
    const both = await refused({ steps: [{ name: 'a', automationId: ok, sql: { statement: 'select 1' } }] })
    expect(both[0]!.message).toContain('either an automation')
    const neither = await refused({ steps: [{ name: 'a' }] })
    expect(neither[0]!.message).toContain('either an automation')
  })
})
