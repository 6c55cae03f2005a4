import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DataFixture, dataFixture } from '../data/helpers'
import { createAutomation } from '../helpers/automations'
import { type Receiver, createConnection, settledDeliveries, startReceiver } from '../reporters/helpers'
import { createWorkflow, runWorkflow, statesOf, stepOf } from './helpers'

// Issue 14 with the SEND_MESSAGE kind: a step after an SQL step with saveAs sends a message,
// through a real webhook receiver on loopback, whose text uses the saved value and the SQL
// step's outputs (passed as the message step's parameters). A failing channel never fails
// the step, as the kind documents: the delivery records the failure.
let f: DataFixture
let hook: Receiver
let down: Receiver
let hookConnection: string
let downConnection: string

beforeAll(async () => {
  f = await dataFixture({ SWITCHYARD_DELIVERY_BACKOFF_MS: '50' })
  hook = await startReceiver()
  down = await startReceiver()
  hookConnection = await createConnection(f, {
    name: 'hook',
    type: 'WEBHOOK',
    config: { url: `${hook.url}/in` },
  })
  downConnection = await createConnection(f, {
    name: 'down',
    type: 'WEBHOOK',
    config: { url: `${down.url}/in` },
  })
  await f.sql('select 1') // opens the warehouse outside the test
}, 60_000)
afterAll(async () => {
  await f?.stop()
  await hook?.close()
  await down?.close()
})

const message = (name: string, connectionId: string, template: string) =>
  createAutomation(f.s, f.editor, {
    name,
    kind: 'SEND_MESSAGE',
    parameters: [
      { name: 'total', type: 'NUMBER' },
      { name: 'rowCount', type: 'NUMBER' },
    ],
    config: { connectionId, template },
  })

describe('a SEND_MESSAGE step in a workflow', () => {
  it('sends the value an SQL step saved, and a failing channel leaves the step succeeded', async () => {
    const notify = await message(
      'notify',
      hookConnection,
      '{"total": {{ params.total | json }}, "rowCount": {{ params.rowCount | json }}, "workflow": {{ run.id | json }}, "state": {{ run.state | json }}}',
    )
    const alert = await message('alert', downConnection, '{"text": "total is {{ params.total }}"}')
    down.answers.push(400)
    const id = await createWorkflow(f.s, f.editor, 'count and tell', {
      steps: [
        {
          name: 'count',
          sql: { statement: 'select sum(x)::int as total from (values (10), (32)) v(x)' },
          saveAs: { variable: 'total' },
        },
        {
          name: 'notify',
          automationId: notify,
          parameters: { total: '${variables.total}', rowCount: '${steps.count.outputs.rowCount}' },
        },
        { name: 'alert', automationId: alert, parameters: { total: '${variables.total}' } },
      ],
      edges: [
        { from: 'count', to: 'notify' },
        { from: 'notify', to: 'alert' },
      ],
    })
    const run = await runWorkflow(f.s, f.editor, id)
    expect(run.state).toBe('SUCCEEDED')
    expect(statesOf(run)).toEqual({ count: 'SUCCEEDED', notify: 'SUCCEEDED', alert: 'SUCCEEDED' })
    expect(run.outputs?.variables).toEqual({ total: 42 })
    expect(stepOf(run, 'notify').runs[0]!.parameters).toEqual({ total: 42, rowCount: 1 })

    const [sent] = await settledDeliveries(f, stepOf(run, 'notify').runs[0]!.id)
    expect(sent).toMatchObject({ state: 'DELIVERED', outcome: 'STEP', channel: 'WEBHOOK', responseCode: 200 })
    const got = hook.requests.filter((r) => r.headers['x-switchyard-delivery'] === sent!.idempotencyKey)
    expect(got).toHaveLength(1)
    // About the workflow as it was when the step queued the message: running.
    expect(JSON.parse(got[0]!.body)).toEqual({ total: 42, rowCount: 1, workflow: run.id, state: 'RUNNING' })

    // The receiver refused (400, final): the delivery failed once; the step still succeeded.
    const [failed] = await settledDeliveries(f, stepOf(run, 'alert').runs[0]!.id)
    expect(failed).toMatchObject({ state: 'FAILED', attempts: 1 })
    expect(failed!.error).toMatch(/HTTP 400/)
    expect(down.requests.map((r) => JSON.parse(r.body))).toEqual([{ text: 'total is 42' }])
  })
})
