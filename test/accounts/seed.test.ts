import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runAutomation, waitForRun } from '../helpers/automations'
import { ADMIN_EMAIL, ADMIN_PASSWORD, type TestServer, startTestServer } from '../helpers/server'

// What `npm start` shows a new user: the demo organization must work end to end.
describe('demo organization on first start', () => {
  let s: TestServer
  let token: string

  beforeAll(async () => {
    s = await startTestServer({ env: { SWITCHYARD_SEED_DEMO: 'true' } })
    token = await s.login(ADMIN_EMAIL, ADMIN_PASSWORD)
  })
  afterAll(async () => {
    await s?.stop()
  })

  it('has two folders, sample automations and a nightly schedule on the pipeline', async () => {
    const r = await s.gql<{
      folders: { name: string }[]
      automations: { edges: { node: { id: string; name: string; kind: string; triggers: unknown } }[] }
    }>('{ folders { name } automations(first: 50) { edges { node { id name kind } } } }', {}, { token })
    expect(r.data!.folders.map((f) => f.name).sort()).toEqual(['Daily loads', 'Reports'])
    const kinds = r.data!.automations.edges.map((e) => e.node.kind).sort()
    expect(kinds).toEqual(['CHAIN', 'COMPUTE_METRICS', 'RUN_CHECKS', 'SCRIPT', 'SQL', 'SQL_TO_STORAGE'])
    const pipeline = r.data!.automations.edges.find((e) => e.node.name === 'Nightly pipeline')!.node
    const t = await s.gql<{
      automation: { triggers: { type: string; enabled: boolean; nextFireTimes: string[] }[] }
    }>(
      'query($id: ID!) { automation(id: $id) { triggers { type enabled nextFireTimes(count: 2) } } }',
      { id: pipeline.id },
      { token },
    )
    const [cron] = t.data!.automation.triggers
    expect(cron).toMatchObject({ type: 'CRON', enabled: true })
    expect(cron!.nextFireTimes).toHaveLength(2)
    expect(new Date(cron!.nextFireTimes[0]!).getUTCHours()).toBe(2)
  })

  it('runs the pipeline to SUCCEEDED: script, SQL, a load, metrics and checks', async () => {
    const list = await s.gql<{ automations: { edges: { node: { id: string; name: string } }[] } }>(
      '{ automations(search: "Nightly", first: 5) { edges { node { id name } } } }',
      {},
      { token },
    )
    const id = list.data!.automations.edges[0]!.node.id
    const run = await waitForRun(s, token, await runAutomation(s, token, id), undefined, 60_000)
    expect(run.error).toBeNull()
    expect(run.state).toBe('SUCCEEDED')
    expect(run.children.map((c) => c.state)).toEqual(Array(5).fill('SUCCEEDED'))
    const data = await s.gql<{
      storages: { name: string; rowCount: number }[]
      checks: { name: string; outcome: string }[]
    }>('{ storages { name rowCount } checks { name outcome } }', {}, { token })
    expect(data.data!.storages.find((x) => x.name === 'heartbeats')?.rowCount).toBe(1)
    expect(data.data!.checks.map((c) => [c.name, c.outcome]).sort()).toEqual([
      ['fresh', 'OK'],
      ['has_heartbeats', 'OK'],
    ])
  })
})
