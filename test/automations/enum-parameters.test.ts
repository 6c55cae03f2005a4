import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CREATE, RUN, createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'

// Issue 16, point 5: a parameter may list its allowed values (the run form shows a select).
let s: TestServer
let org: TestOrg
let editor: string

beforeAll(async () => {
  s = await startTestServer()
  org = await createOrg(s.db)
  editor = await s.login(org.users.editor!.email, org.users.editor!.password)
})
afterAll(() => s?.stop())

type Issues = { __typename: string; message?: string; issues?: { path: string; message: string }[] }

const create = (parameters: unknown[]) =>
  s.gql<{ createAutomation: Issues }>(
    CREATE,
    { i: { name: 'enum', kind: 'NOOP', config: {}, parameters } },
    { token: editor },
  )

describe('allowed values of a parameter', () => {
  it('are declared, read back, and the default must be one of them', async () => {
    const id = await createAutomation(s, editor, {
      name: 'regional load',
      kind: 'NOOP',
      config: {},
      parameters: [
        { name: 'region', type: 'STRING', default: 'eu', allowedValues: ['eu', 'us'] },
        { name: 'batch', type: 'NUMBER', allowedValues: [100, 500] },
      ],
    })
    const r = await s.gql<{
      automation: { parameters: { name: string; allowedValues: unknown[] | null }[] }
    }>(
      'query($id: ID!) { automation(id: $id) { parameters { name allowedValues } } }',
      { id },
      { token: editor },
    )
    expect(r.data?.automation.parameters).toEqual([
      { name: 'region', allowedValues: ['eu', 'us'] },
      { name: 'batch', allowedValues: [100, 500] },
    ])

    const outside = await create([
      { name: 'region', type: 'STRING', default: 'asia', allowedValues: ['eu', 'us'] },
    ])
    expect(outside.data?.createAutomation.issues).toEqual([
      { path: 'parameters.0.default', message: 'must be one of: eu, us' },
    ])
  })

  it('refuses a list of the wrong type, an empty list, repeats, and a list on a type that has no select', async () => {
    const wrongType = await create([{ name: 'n', type: 'NUMBER', allowedValues: [1, 'two'] }])
    expect(wrongType.data?.createAutomation.issues).toEqual([
      { path: 'parameters.0.allowedValues.1', message: '"two" must be a number' },
    ])
    const empty = await create([{ name: 'r', type: 'STRING', allowedValues: [] }])
    expect(empty.data?.createAutomation.issues?.[0]?.path).toBe('parameters.0.allowedValues')
    const repeated = await create([{ name: 'r', type: 'STRING', allowedValues: ['eu', 'eu'] }])
    expect(repeated.data?.createAutomation.issues).toEqual([
      { path: 'parameters.0.allowedValues.1', message: '"eu" is listed twice' },
    ])
    const onJson = await create([{ name: 'j', type: 'JSON', allowedValues: ['a'] }])
    expect(onJson.data?.createAutomation.issues).toEqual([
      {
        path: 'parameters.0.allowedValues',
        message: 'only STRING and NUMBER parameters take allowed values',
      },
    ])
  })

  it('refuses a run with a value outside the list, naming the parameter, and queues nothing', async () => {
    const id = await createAutomation(s, editor, {
      name: 'regional',
      kind: 'NOOP',
      config: {},
      parameters: [{ name: 'region', type: 'STRING', required: true, allowedValues: ['eu', 'us'] }],
    })
    const r = await s.gql<{ runAutomation: Issues }>(RUN, { id, p: { region: 'asia' } }, { token: editor })
    expect(r.data?.runAutomation).toMatchObject({
      __typename: 'ValidationError',
      message: 'invalid parameters: parameters.region must be one of: eu, us',
      issues: [{ path: 'parameters.region', message: 'must be one of: eu, us' }],
    })
    expect(await s.db.query('select 1 from runs where automation_id = $1', [id])).toHaveLength(0)

    const runId = await runAutomation(s, editor, id, { region: 'us' })
    const run = await waitForRun(s, editor, runId)
    expect(run.state).toBe('SUCCEEDED')
    expect(run.parameters).toEqual({ region: 'us' })
  })
})
