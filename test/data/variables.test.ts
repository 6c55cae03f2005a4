// biome-ignore-all lint/suspicious/noTemplateCurlyInString: SQL and configs here hold Switchyard ${variables} on purpose
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type DataFixture, dataFixture } from './helpers'

let f: DataFixture

const SET = `mutation($i: SetVariableInput!) { setVariable(input: $i) {
  __typename ... on SetVariableSuccess { variable { name scope value expression current } } ... on Error { message } } }`
const rowsOf = async (sql: string) => ((await f.sql(sql)).outputs as { rows: unknown[] }).rows

beforeAll(async () => {
  f = await dataFixture()
  await f.sql(`create table sales (id int, region text, day date)`)
  await f.sql(
    `insert into sales values (1, 'north', current_date - 1), (2, 'south', current_date - 1), (3, 'north', current_date - 5)`,
  )
})
afterAll(() => f?.stop())

describe('variables', () => {
  it('binds organization, automation and run values, nearest winning', async () => {
    const org = await f.gql<{ setVariable: { variable: unknown } }>(SET, {
      i: { name: 'region', value: 'south' },
    })
    expect(org.setVariable.variable).toEqual({
      name: 'region',
      scope: 'ORGANIZATION',
      value: 'south',
      expression: null,
      current: 'south',
    })
    await f.gql(SET, { i: { name: 'since', expression: 'formatDate(addDays(today(), -2))' } })
    const config = {
      source: {
        query: 'select id from sales where region = ${region} and day >= ${since}::date order by id',
      },
      target: { storage: 'picked' },
    }
    const id = await createAutomation(f.s, f.editor, {
      name: 'pick',
      kind: 'SQL_TO_STORAGE',
      config,
      parameters: [{ name: 'region', type: 'STRING' }],
    })
    await waitForRun(f.s, f.editor, await runAutomation(f.s, f.editor, id))
    expect(await rowsOf('select id from picked')).toEqual([{ id: 2 }])
    const own = await f.gql<{ setVariable: { variable: { scope: string } } }>(SET, {
      i: { name: 'region', value: 'north', automationId: id },
    })
    expect(own.setVariable.variable.scope).toBe('AUTOMATION')
    await waitForRun(f.s, f.editor, await runAutomation(f.s, f.editor, id))
    expect(await rowsOf('select id from picked')).toEqual([{ id: 1 }])
    await waitForRun(f.s, f.editor, await runAutomation(f.s, f.editor, id, { region: 'south' }))
    expect(await rowsOf('select id from picked')).toEqual([{ id: 2 }])
    const list = await f.gql<{ variables: { name: string; scope: string; current: unknown }[] }>(
      'query($a: ID) { variables(automationId: $a) { name scope current } }',
      { a: id },
    )
    expect(list.variables).toEqual([
      { name: 'region', scope: 'ORGANIZATION', current: 'south' },
      { name: 'since', scope: 'ORGANIZATION', current: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) },
      { name: 'region', scope: 'AUTOMATION', current: 'north' },
    ])
  })

  it('validates names and expressions, and checks permissions', async () => {
    const bad = await f.gql<{ setVariable: { __typename: string; message: string } }>(SET, {
      i: { name: 'x', expression: 'addDays(' },
    })
    expect(bad.setVariable).toMatchObject({
      __typename: 'ValidationError',
      message: 'invalid expression: unexpected end of expression',
    })
    const badName = await f.gql<{ setVariable: { __typename: string } }>(SET, { i: { name: '1x', value: 1 } })
    expect(badName.setVariable.__typename).toBe('ValidationError')
    const viewer = await f.gql<{ setVariable: { __typename: string } }>(
      SET,
      { i: { name: 'x', value: 1 } },
      f.viewer,
    )
    expect(viewer.setVariable.__typename).toBe('ForbiddenError')
    const tried = await f.gql<{ evaluateExpression: { value: unknown } }>(
      'query { evaluateExpression(expression: "upper(region) + \\"!\\"") { ... on EvaluateExpressionSuccess { value } } }',
    )
    expect(tried.evaluateExpression.value).toBe('SOUTH!')
  })

  it('sets variables from a query and expressions with SET_VARIABLES', async () => {
    const run = await f.run('SET_VARIABLES', {
      scope: 'ORGANIZATION',
      variables: [
        { name: 'last_id', query: { sql: 'select max(id) from sales' } },
        { name: 'next_id', expression: 'last_id + 1' },
        { name: 'label', expression: "concat('batch-', next_id)" },
      ],
    })
    expect(run.error).toBeNull()
    expect(run.outputs).toMatchObject({ variables: { last_id: 3, next_id: 4, label: 'batch-4' } })
    const again = await f.run('SQL_TO_STORAGE', {
      source: { query: 'select ${label}::text as label, ${next_id}::int as n' },
      target: { storage: 'labels' },
    })
    expect(again.error).toBeNull()
    expect(await rowsOf('select label, n from labels')).toEqual([{ label: 'batch-4', n: 4 }])
    const refused = await f.s.gql<{ createAutomation: { __typename: string; issues: { path: string }[] } }>(
      `mutation($i: AutomationInput!) { createAutomation(input: $i) { __typename ... on ValidationError { issues { path } } } }`,
      {
        i: {
          name: 'bad-set',
          kind: 'SET_VARIABLES',
          config: { variables: [{ name: 'x', expression: '1 +' }] },
        },
      },
      { token: f.editor },
    )
    expect(refused.data?.createAutomation.issues).toEqual([{ path: 'config.variables.0.expression' }])
  })
})
