import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunEvent } from '../../server/src/events/channels'
import { createRunReads } from '../../server/src/runs/reads'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'

// The rows of live deliveries (runs/reads.ts): one per event for every subscriber, handed out
// without a promise once known, so a fan-out costs no await per subscriber for them.
let s: TestServer
let org: TestOrg
let editor: string

beforeAll(async () => {
  s = await startTestServer()
  org = await createOrg(s.db)
  editor = await s.login(org.users.editor!.email, org.users.editor!.password)
})
afterAll(() => s?.stop())

describe('rows of live deliveries', () => {
  it('one event gives one row object, as of the event, and once read it is no longer a promise', async () => {
    const automationId = await createAutomation(s, editor, { name: 'read', kind: 'NOOP', config: {} })
    const runId = await runAutomation(s, editor, automationId)
    await waitForRun(s, editor, runId)
    const reads = createRunReads(s.app.services.db)
    const event = (state: string): RunEvent => ({
      runId,
      orgId: org.id,
      automationId,
      state,
      parentRunId: null,
      attempt: 1,
      startedAt: state === 'QUEUED' ? null : new Date(0),
      finishedAt: null,
      error: null,
    })
    const queued = event('QUEUED')
    const first = reads.asOf(queued)
    expect(first).toBeInstanceOf(Promise)
    const row = await first
    expect(row?.id).toBe(runId)
    // The stored run has SUCCEEDED; the event's row shows the change it announced.
    expect(row?.state).toBe('QUEUED')
    expect(reads.asOf(queued)).toBe(row)
    // Another change of the same run: what never changes was read once, so it is known at once.
    const running = reads.asOf(event('RUNNING'))
    expect(running).not.toBeInstanceOf(Promise)
    expect((running as typeof row)?.state).toBe('RUNNING')
    expect((running as typeof row)?.automation_id).toBe(automationId)
  })
})
