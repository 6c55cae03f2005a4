import { describe, expect, it } from 'vitest'
import { recordEvents } from '../../server/src/triggers/events'
import { runAutomation, waitForRun } from '../helpers/automations'
import { create, editor, noop, org, s, stranger, useTriggerApi, viewer } from './api-fixture'

useTriggerApi()

describe('saving triggers: bad input is refused with a message saying what is wrong', () => {
  it('invalid cron, unknown timezone, interval below the minimum, wrong parameter types', async () => {
    const a = await noop('bad-input', { parameters: [{ name: 'n', type: 'NUMBER', required: true }] })
    const cron = await create(editor, a, {
      type: 'CRON',
      config: { cron: '*/61 * * * *' },
      parameters: { n: 1 },
    })
    expect(cron.__typename).toBe('ValidationError')
    expect(cron.issues).toEqual([
      { path: 'config.cron', message: expect.stringContaining('invalid cron "*/61 * * * *"') },
    ])
    expect(cron.message).toMatch(/steps cannot be greater than maximum value/)
    const fields = await create(editor, a, {
      type: 'CRON',
      config: { cron: '* * * *' },
      parameters: { n: 1 },
    })
    expect(fields.message).toMatch(/exactly five, six, or seven space separated parts/)
    const never = await create(editor, a, {
      type: 'CRON',
      config: { cron: '0 0 30 2 *' },
      parameters: { n: 1 },
    })
    expect(never.message).toMatch(/never fires/)
    const tz = await create(editor, a, {
      type: 'CRON',
      config: { cron: '0 9 * * *', timezone: 'Mars/Olympus' },
      parameters: { n: 1 },
    })
    expect(tz.issues).toEqual([
      { path: 'config.timezone', message: expect.stringContaining('unknown timezone "Mars/Olympus"') },
    ])
    const fast = await create(editor, a, {
      type: 'SQL_CHANGE',
      config: { query: 'select 1', intervalSeconds: 2 },
      parameters: { n: 1 },
    })
    expect(fast.issues).toEqual([
      { path: 'config.intervalSeconds', message: expect.stringContaining('at least 10 seconds') },
    ])
    const params = await create(editor, a, {
      type: 'CRON',
      config: { cron: '0 9 * * *' },
      parameters: { n: 'x' },
    })
    expect(params.issues).toEqual([{ path: 'parameters.n', message: 'must be a number' }])
    const missing = await create(editor, a, { type: 'CRON', config: { cron: '0 9 * * *' } })
    expect(missing.issues).toEqual([{ path: 'parameters.n', message: 'is required' }])
    expect(await s.db.query('select 1 from triggers where automation_id = $1', [a])).toHaveLength(0)
  })

  it('only editors with EDIT on the automation manage its triggers; other organizations see nothing', async () => {
    const a = await noop('guarded')
    expect((await create(viewer, a, { type: 'CRON', config: { cron: '0 9 * * *' } })).__typename).toBe(
      'ForbiddenError',
    )
    expect((await create(stranger, a, { type: 'CRON', config: { cron: '0 9 * * *' } })).__typename).toBe(
      'NotFoundError',
    )
    const ok = await create(editor, a, { type: 'CRON', config: { cron: '0 9 * * *' } })
    const id = ok.trigger!.id
    const del = await s.gql<{ deleteTrigger: { __typename: string } }>(
      `mutation { deleteTrigger(id: "${id}") { __typename } }`,
      {},
      { token: stranger },
    )
    expect(del.data?.deleteTrigger.__typename).toBe('NotFoundError')
    const seen = await s.gql<{ trigger: unknown }>(`{ trigger(id: "${id}") { id } }`, {}, { token: stranger })
    expect(seen.data?.trigger).toBeNull()
  })

  it('AFTER_AUTOMATION: a deleted automation, itself, or a cycle is refused at save', async () => {
    const a = await noop('cycle-a')
    const b = await noop('cycle-b')
    const c = await noop('cycle-c')
    const gone = await noop('cycle-gone')
    await s.gql(`mutation { deleteAutomation(id: "${gone}") { __typename } }`, {}, { token: editor })
    const deleted = await create(editor, a, { type: 'AFTER_AUTOMATION', config: { automationId: gone } })
    expect(deleted.issues).toEqual([
      { path: 'config.automationId', message: 'no such automation in this organization' },
    ])
    const self = await create(editor, a, { type: 'AFTER_AUTOMATION', config: { automationId: a } })
    expect(self.message).toMatch(/cannot follow itself/)
    expect(
      (await create(editor, b, { type: 'AFTER_AUTOMATION', config: { automationId: a } })).__typename,
    ).toBe('TriggerPayload')
    expect(
      (await create(editor, c, { type: 'AFTER_AUTOMATION', config: { automationId: b } })).__typename,
    ).toBe('TriggerPayload')
    const loop = await create(editor, a, { type: 'AFTER_AUTOMATION', config: { automationId: c } })
    expect(loop.__typename).toBe('ValidationError')
    expect(loop.message).toContain('"cycle-a" → "cycle-b" → "cycle-c"')
  })
})

describe('reading triggers', () => {
  it('shows next fire times, events and the auto-triggers switch on the automation', async () => {
    const a = await noop('shown')
    const t = await create(editor, a, {
      type: 'CRON',
      config: { cron: '0 0 9 * * MON-FRI', timezone: 'Europe/Paris' },
    })
    expect(t.trigger!.nextFireTimes).toHaveLength(3)
    for (const at of t.trigger!.nextFireTimes) {
      const paris = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Paris',
        hour: '2-digit',
        weekday: 'short',
      })
      expect(paris.format(new Date(at))).toMatch(/^(Mon|Tue|Wed|Thu|Fri),? 09$/)
    }
    await recordEvents(s.db, [
      {
        orgId: org.id,
        automationId: a,
        triggerId: t.trigger!.id,
        at: new Date(),
        kind: 'MISSED',
        message: 'for the test',
      },
    ])
    const Q = `query($id: ID!) { automation(id: $id) { autoTriggers triggers { id type enabled nextFireTimes lastFiredAt lastEvaluatedAt }
      triggerEvents { at kind message triggerId } } }`
    type A = {
      autoTriggers: boolean
      triggers: { nextFireTimes: string[] }[]
      triggerEvents: { kind: string; message: string }[]
    }
    const before = await s.gql<{ automation: A }>(Q, { id: a }, { token: viewer })
    expect(before.data?.automation.autoTriggers).toBe(true)
    expect(before.data?.automation.triggerEvents).toEqual([
      expect.objectContaining({ kind: 'MISSED', message: 'for the test' }),
    ])
    expect(before.data!.automation.triggers[0]!.nextFireTimes.length).toBe(5)
    const off = await s.gql<{ setAutoTriggers: { __typename: string } }>(
      `mutation { setAutoTriggers(automationId: "${a}", enabled: false) { __typename } }`,
      {},
      { token: editor },
    )
    expect(off.data?.setAutoTriggers.__typename).toBe('SetAutoTriggersSuccess')
    const after = await s.gql<{ automation: A }>(Q, { id: a }, { token: editor })
    expect(after.data?.automation.autoTriggers).toBe(false)
    expect(after.data!.automation.triggers[0]!.nextFireTimes).toEqual([])
  })

  it('cronPreview checks a pattern without saving anything', async () => {
    const r = await s.gql<{ cronPreview: { times?: string[]; message?: string } }>(
      `{ a: cronPreview(cron: "*/15 * * * *", count: 2) { ... on CronPreview { times } }
         b: cronPreview(cron: "61 * * * *") { ... on ValidationError { message } } }`,
      {},
      { token: editor },
    )
    const data = r.data as unknown as { a: { times: string[] }; b: { message: string } }
    expect(data.a.times).toHaveLength(2)
    expect(data.b.message).toMatch(/invalid cron "61 \* \* \* \*"/)
  })
})

describe('AFTER_AUTOMATION', () => {
  it('fires on the outcome it follows, once per end, as the run-as user', async () => {
    const up = await noop('upstream')
    const onSuccess = await noop('after-success')
    const onFailure = await noop('after-failure')
    const onAny = await noop('after-any')
    await create(editor, onSuccess, { type: 'AFTER_AUTOMATION', config: { automationId: up } })
    await create(editor, onFailure, { type: 'AFTER_AUTOMATION', config: { automationId: up, on: 'FAILURE' } })
    await create(editor, onAny, { type: 'AFTER_AUTOMATION', config: { automationId: up, on: 'ANY' } })
    // The NOOP kind has no "fail" switch per run: a new version makes it fail.
    await waitForRun(s, editor, await runAutomation(s, editor, up))
    await s.gql(
      'mutation($id: ID!, $i: AutomationInput!) { updateAutomation(id: $id, input: $i) { __typename } }',
      { id: up, i: { name: 'upstream', kind: 'NOOP', config: { fail: 'boom' } } },
      { token: editor },
    )
    await waitForRun(s, editor, await runAutomation(s, editor, up))
    const count = async (a: string) =>
      (
        await s.db.query<{ n: number }>(
          `select count(*)::int as n from runs where automation_id = $1 and trigger_source = 'AFTER_AUTOMATION'`,
          [a],
        )
      )[0]!.n
    const deadline = Date.now() + 10_000
    while ((await count(onAny)) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect([await count(onSuccess), await count(onFailure), await count(onAny)]).toEqual([1, 1, 2])
    const [run] = await s.db.query<{ run_as: string; triggered_by: string | null }>(
      'select run_as, triggered_by from runs where automation_id = $1',
      [onSuccess],
    )
    expect(run).toEqual({ run_as: org.users.editor!.id, triggered_by: null })
  })
})

describe('the real scheduler', () => {
  it('fires an every-second CRON trigger on time, each tick once, with the trigger parameters', async () => {
    const a = await noop('every-second', { parameters: [{ name: 'who', type: 'STRING' }] })
    const t = await create(editor, a, {
      type: 'CRON',
      config: { cron: '* * * * * *', overlapPolicy: 'ALLOW' },
      parameters: { who: 'cron' },
    })
    const deadline = Date.now() + 15_000
    type Row = { scheduled_at: Date; started_at: Date | null; parameters: unknown; trigger_source: string }
    const started = async () =>
      s.db.query<Row>(
        `select f.scheduled_at, r.started_at, r.parameters, r.trigger_source from trigger_fires f
         join runs r on r.id = f.run_id where f.trigger_id = $1 and r.started_at is not null order by f.scheduled_at`,
        [t.trigger!.id],
      )
    while ((await started()).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    await s.gql(
      `mutation { updateTrigger(id: "${t.trigger!.id}", input: { enabled: false }) { __typename } }`,
      {},
      {
        token: editor,
      },
    )
    const rows = await started()
    expect(rows.length).toBeGreaterThanOrEqual(3)
    const seconds = rows.map((r) => new Date(r.scheduled_at).getTime() / 1000)
    expect(new Set(seconds).size).toBe(seconds.length)
    for (const r of rows) {
      expect(r).toMatchObject({ parameters: { who: 'cron' }, trigger_source: 'SCHEDULE' })
      // Queued ahead and due at its time: started within a (generous, CI-proof) second.
      expect(new Date(r.started_at!).getTime() - new Date(r.scheduled_at).getTime()).toBeLessThan(1000)
    }
    const runs = await s.db.query('select 1 from runs where automation_id = $1', [a])
    expect(runs.length).toBe(
      (await s.db.query('select 1 from trigger_fires where trigger_id = $1', [t.trigger!.id])).length,
    )
  })
})
