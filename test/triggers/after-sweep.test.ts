import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freshSchedule, insertTrigger } from '../../server/src/triggers/store'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'

let s: TestServer
let org: TestOrg
let editor: string

beforeAll(async () => {
  s = await startTestServer()
  org = await createOrg(s.db)
  editor = await s.login(org.users.editor!.email, org.users.editor!.password)
})
afterAll(() => s?.stop())

const followerRuns = (automationId: string) =>
  s.db.query<{ id: string; trigger_source: string }>(
    'select id, trigger_source from runs where automation_id = $1 order by id',
    [automationId],
  )

describe('AFTER_AUTOMATION when a node has not heard of the trigger yet', () => {
  it('the scheduler sweep fires the follower once for an upstream end the run hook missed', async () => {
    const upstream = await createAutomation(s, editor, { name: 'upstream', kind: 'NOOP', config: {} })
    const follower = await createAutomation(s, editor, { name: 'follower', kind: 'NOOP', config: {} })
    // Written without the NOTIFY that refreshes watch lists: this node's run hook
    // does not know anyone follows `upstream`, as on a node whose NOTIFY was lost.
    const config = { automationId: upstream, on: 'SUCCESS' }
    await insertTrigger(s.db, {
      orgId: org.id,
      automationId: follower,
      type: 'AFTER_AUTOMATION',
      enabled: true,
      config,
      parameters: {},
      tokenHash: null,
      tokenPrefix: null,
      watchAutomationId: upstream,
      createdBy: org.users.editor!.id,
      schedule: freshSchedule('AFTER_AUTOMATION', config, new Date()),
    })
    const ended = await waitForRun(s, editor, await runAutomation(s, editor, upstream))
    expect(ended.state).toBe('SUCCEEDED')
    await expect
      .poll(async () => (await followerRuns(follower)).map((r) => r.trigger_source), {
        timeout: 20_000,
        interval: 250,
      })
      .toEqual(['AFTER_AUTOMATION'])
    // Later sweeps find the fire record and leave it: still one run.
    await new Promise((r) => setTimeout(r, 6_000))
    expect(await followerRuns(follower)).toHaveLength(1)
  })
})
