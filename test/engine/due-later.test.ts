import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NewRun } from '../../server/src/engine/types'
import { createAutomation, waitForRun } from '../helpers/automations'
import { ADMIN_EMAIL, ADMIN_PASSWORD, type TestServer, startTestServer } from '../helpers/server'

// A worker that last claimed some runs but not as many as it could must still start a run
// due later (a scheduled tick queued ahead, a retry after its backoff) when it is due, not at
// its next poll: with the poll at a minute, only that timer can start it in time.
let s: TestServer
let token: string

beforeAll(async () => {
  s = await startTestServer({ env: { SWITCHYARD_POLL_MS: '60000' } })
  token = await s.login(ADMIN_EMAIL, ADMIN_PASSWORD)
})
afterAll(() => s?.stop())

describe('a run due later', () => {
  it('starts when due although the worker claimed other work since it was queued', async () => {
    const id = await createAutomation(s, token, { name: 'later', kind: 'NOOP', config: {} })
    const [a] = await s.db.query<{ org_id: string; current_version_id: string; version: number }>(
      'select a.org_id, a.current_version_id, v.version from automations a join automation_versions v on v.id = a.current_version_id where a.id = $1',
      [id],
    )
    const [admin] = await s.db.query<{ id: string }>('select id from users where email = $1', [ADMIN_EMAIL])
    const { engine } = s.app.services
    const definition = await engine.definition(s.db, a!.current_version_id)
    const run = (runAt: Date | null): NewRun => ({
      orgId: a!.org_id,
      automationId: id,
      versionId: a!.current_version_id,
      version: a!.version,
      definition,
      triggerSource: 'API',
      triggeredBy: admin!.id,
      runAs: admin!.id,
      parameters: {},
      runAt,
    })
    const later = await engine.enqueue(run(new Date(Date.now() + 1500)))
    // Due now: its wake-up makes the worker claim it, after it had set its timer for the first.
    const now = await engine.enqueue(run(null))
    expect((await waitForRun(s, token, now.run.id)).state).toBe('SUCCEEDED')
    const done = await waitForRun(s, token, later.run.id, undefined, 20_000)
    expect(done.state).toBe('SUCCEEDED')
    const [times] = await s.db.query<{ late_ms: number }>(
      'select extract(epoch from (started_at - run_at)) * 1000 as late_ms from runs where id = $1',
      [later.run.id],
    )
    // Not started before it was due.
    expect(Number(times!.late_ms)).toBeGreaterThanOrEqual(0)
  }, 40_000)
})
