import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordEvents } from '../../server/src/triggers/events'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'

let s: TestServer
let org: TestOrg
let other: TestOrg
let editor: string
let viewer: string
let stranger: string

beforeAll(async () => {
  s = await startTestServer()
  org = await createOrg(s.db)
  other = await createOrg(s.db)
  editor = await s.login(org.users.editor!.email, org.users.editor!.password)
  viewer = await s.login(org.users.viewer!.email, org.users.viewer!.password)
  stranger = await s.login(other.users.editor!.email, other.users.editor!.password)
})
afterAll(() => s?.stop())

const CREATE = `mutation($a: ID!, $i: TriggerInput!) { createTrigger(automationId: $a, input: $i) {
  __typename ... on TriggerPayload { trigger { id type nextFireTimes(count: 3) } }
  ... on ValidationError { message issues { path message } } ... on Error { message } } }`

interface Created {
  __typename: string
  message?: string
  issues?: { path: string; message: string }[]
  trigger?: { id: string; type: string; nextFireTimes: string[] }
}

async function create(token: string, automationId: string, input: Record<string, unknown>): Promise<Created> {
  const r = await s.gql<{ createTrigger: Created }>(CREATE, { a: automationId, i: input }, { token })
  if (!r.data) throw new Error(JSON.stringify(r.errors))
  return r.data.createTrigger
}

const noop = (name: string, extra: Record<string, unknown> = {}) =>
  createAutomation(s, editor, { name, kind: 'NOOP', config: {}, ...extra })

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `read` until `ok` holds (or the deadline passes) and returns the last value. */
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms
  let v = await read()
  while (!ok(v) && Date.now() < deadline) {
    await sleep(100)
    v = await read()
  }
  return v
}

interface TriggerView {
  id: string
  nextFireTimes: string[]
  nextEvaluationAt: string | null
  lastEvaluatedAt: string | null
  lastFiredAt: string | null
  lastRun: { id: string } | null
}

const VIEW = 'id nextFireTimes(count: 1) nextEvaluationAt lastEvaluatedAt lastFiredAt lastRun { id }'

async function view(id: string): Promise<TriggerView | null> {
  const r = await s.gql<{ trigger: TriggerView | null }>(
    `query($id: ID!) { trigger(id: $id) { ${VIEW} } }`,
    { id },
    { token: editor },
  )
  if (!r.data) throw new Error(JSON.stringify(r.errors))
  return r.data.trigger
}

const scheduledRuns = async (a: string) =>
  (
    await s.db.query<{ n: number }>(
      `select count(*)::int as n from runs where automation_id = $1 and trigger_source = 'SCHEDULE'`,
      [a],
    )
  )[0]!.n

const everySecond = { type: 'CRON', config: { cron: '* * * * * *', overlapPolicy: 'ALLOW' } }

describe('managing triggers', () => {
  it('deleteTrigger removes the trigger and it fires no more', async () => {
    const a = await noop('delete-me')
    const id = (await create(editor, a, everySecond)).trigger!.id
    expect(
      await until(
        () => scheduledRuns(a),
        (n) => n > 0,
      ),
    ).toBeGreaterThan(0)
    const del = await s.gql<{ deleteTrigger: { __typename: string; trigger?: { id: string } } }>(
      'mutation($id: ID!) { deleteTrigger(id: $id) { __typename ... on DeleteTriggerSuccess { trigger { id } } } }',
      { id },
      { token: editor },
    )
    expect(del.data?.deleteTrigger).toEqual({ __typename: 'DeleteTriggerSuccess', trigger: { id } })
    expect(await view(id)).toBeNull()
    const listed = await s.gql<{ automation: { triggers: unknown[] } }>(
      'query($id: ID!) { automation(id: $id) { triggers { id } } }',
      { id: a },
      { token: editor },
    )
    expect(listed.data?.automation.triggers).toEqual([])
    // Runs queued ahead before the delete are counted already; nothing new comes after it.
    const n = await scheduledRuns(a)
    await sleep(2500)
    expect(await scheduledRuns(a)).toBe(n)
  })

  it('updateTrigger with a new cron moves the next fire time', async () => {
    const a = await noop('rescheduled')
    const t = await create(editor, a, { type: 'CRON', config: { cron: '0 0 9 * * *' } })
    expect(new Date(t.trigger!.nextFireTimes[0]!).getUTCHours()).toBe(9)
    const r = await s.gql<{ updateTrigger: { __typename: string; trigger: { nextFireTimes: string[] } } }>(
      `mutation($id: ID!, $i: TriggerUpdateInput!) { updateTrigger(id: $id, input: $i) {
        __typename ... on TriggerPayload { trigger { nextFireTimes(count: 1) } } } }`,
      { id: t.trigger!.id, i: { config: { cron: '0 30 18 * * *' } } },
      { token: editor },
    )
    expect(r.data?.updateTrigger.__typename).toBe('TriggerPayload')
    const next = new Date(r.data!.updateTrigger.trigger.nextFireTimes[0]!)
    expect([next.getUTCHours(), next.getUTCMinutes()]).toEqual([18, 30])
    expect(next.getTime() - Date.now()).toBeLessThanOrEqual(86_400_000)
    const [row] = await s.db.query<{ next_fire_at: Date }>(
      'select next_fire_at from triggers where id = $1',
      [t.trigger!.id],
    )
    expect(new Date(row!.next_fire_at).toISOString()).toBe(next.toISOString())
  })

  it('lastFiredAt, lastEvaluatedAt and lastRun are set once a CRON trigger fires', async () => {
    const a = await noop('last-fired')
    const started = Date.now()
    const id = (await create(editor, a, everySecond)).trigger!.id
    const seen = (await until(
      () => view(id),
      (v) => v?.lastFiredAt != null,
    ))!
    await s.gql(
      'mutation($id: ID!) { updateTrigger(id: $id, input: { enabled: false }) { __typename } }',
      { id },
      { token: editor },
    )
    const fired = new Date(seen.lastFiredAt!).getTime()
    expect(fired).toBeGreaterThanOrEqual(started - 1000)
    expect(fired).toBeLessThanOrEqual(Date.now())
    expect(new Date(seen.lastEvaluatedAt!).getTime()).toBeGreaterThanOrEqual(fired)
    const [run] = await s.db.query<{ id: string; trigger_source: string }>(
      'select id, trigger_source from runs where id = $1 and automation_id = $2',
      [seen.lastRun!.id, a],
    )
    expect(run?.trigger_source).toBe('SCHEDULE')
    expect(seen.nextEvaluationAt).toBeNull()
  })

  it('a polling trigger shows when it looks next: now when saved, then one interval after each look', async () => {
    const a = await noop('polled')
    const saved = Date.now()
    const id = (
      await create(editor, a, {
        type: 'CODE',
        config: { intervalSeconds: 10, code: 'return { fire: false }' },
      })
    ).trigger!.id
    const first = await view(id)
    // Either still due (at most "now" when saved) or already looked at once.
    if (first!.lastEvaluatedAt === null) {
      expect(new Date(first!.nextEvaluationAt!).getTime()).toBeLessThanOrEqual(Date.now())
      expect(new Date(first!.nextEvaluationAt!).getTime()).toBeGreaterThanOrEqual(saved - 1000)
    }
    const looked = (await until(
      () => view(id),
      (v) => v?.lastEvaluatedAt != null,
    ))!
    expect(new Date(looked.nextEvaluationAt!).getTime() - new Date(looked.lastEvaluatedAt!).getTime()).toBe(
      10_000,
    )
    expect(looked.lastFiredAt).toBeNull()
    expect(looked.nextFireTimes).toEqual([])
  })

  it('setAutoTriggers(false) stops the triggers, (true) restarts them from now, through GraphQL', async () => {
    const a = await noop('switched')
    await create(editor, a, everySecond)
    const SET = `mutation($a: ID!, $on: Boolean!) { setAutoTriggers(automationId: $a, enabled: $on) {
      __typename ... on SetAutoTriggersSuccess { automation { autoTriggers triggers { nextFireTimes(count: 1) } } } } }`
    type Set = {
      setAutoTriggers: {
        __typename: string
        automation: { autoTriggers: boolean; triggers: { nextFireTimes: string[] }[] }
      }
    }
    expect(
      await until(
        () => scheduledRuns(a),
        (n) => n > 0,
      ),
    ).toBeGreaterThan(0)
    const off = await s.gql<Set>(SET, { a, on: false }, { token: editor })
    expect(off.data?.setAutoTriggers.__typename).toBe('SetAutoTriggersSuccess')
    expect(off.data?.setAutoTriggers.automation.autoTriggers).toBe(false)
    expect(off.data!.setAutoTriggers.automation.triggers[0]!.nextFireTimes).toEqual([])
    const n = await scheduledRuns(a)
    await sleep(2500)
    expect(await scheduledRuns(a)).toBe(n)
    const on = await s.gql<Set>(SET, { a, on: true }, { token: editor })
    expect(on.data?.setAutoTriggers.automation.autoTriggers).toBe(true)
    const next = new Date(on.data!.setAutoTriggers.automation.triggers[0]!.nextFireTimes[0]!).getTime()
    // Restarted from now: the ticks that fell while it was off are neither fired nor missed.
    expect(next).toBeGreaterThan(Date.now() - 1000)
    expect(
      await until(
        () => scheduledRuns(a),
        (m) => m > n,
      ),
    ).toBeGreaterThan(n)
    await s.gql(SET, { a, on: false }, { token: editor })
    const kinds = await s.db.query<{ kind: string }>(
      'select kind from trigger_events where automation_id = $1',
      [a],
    )
    expect(kinds.filter((k) => k.kind === 'MISSED' || k.kind === 'CAUGHT_UP')).toEqual([])
  })

  it('a CODE trigger whose script throws records the error as an event and fires nothing', async () => {
    const a = await noop('code-throws')
    const id = (
      await create(editor, a, {
        type: 'CODE',
        config: { intervalSeconds: 10, code: "throw new Error('the export is not there yet')" },
      })
    ).trigger!.id
    type Events = { automation: { triggerEvents: { kind: string; message: string; triggerId: string }[] } }
    const events = await until(
      async () =>
        (
          await s.gql<Events>(
            'query($id: ID!) { automation(id: $id) { triggerEvents { kind message triggerId } } }',
            { id: a },
            { token: editor },
          )
        ).data!.automation.triggerEvents,
      (e) => e.length > 0,
    )
    expect(events).toEqual([
      { kind: 'ERROR', message: expect.stringContaining('the export is not there yet'), triggerId: id },
    ])
    const v = await view(id)
    expect(v?.lastEvaluatedAt).not.toBeNull()
    expect(v?.lastFiredAt).toBeNull()
    expect(await s.db.query('select 1 from runs where automation_id = $1', [a])).toHaveLength(0)
  })
})

describe('nextScheduledAt', () => {
  it('is the earliest tick of the enabled CRON triggers, and null when nothing would fire', async () => {
    const a = await noop('scheduled')
    const NEXT =
      'query($a: ID!) { automation(id: $a) { nextScheduledAt triggers { id nextFireTimes(count: 1) } } }'
    const next = async () =>
      (await s.gql<{ automation: { nextScheduledAt: string | null } }>(NEXT, { a }, { token: editor })).data!
        .automation.nextScheduledAt
    expect(await next()).toBeNull()
    const daily = await create(editor, a, { type: 'CRON', config: { cron: '0 0 3 * * *' } })
    const hourly = await create(editor, a, { type: 'CRON', config: { cron: '0 0 * * * *' } })
    expect(await next()).toBe(hourly.trigger!.nextFireTimes[0])
    await s.gql(
      'mutation($id: ID!) { updateTrigger(id: $id, input: { enabled: false }) { __typename } }',
      { id: hourly.trigger!.id },
      { token: editor },
    )
    expect(await next()).toBe(daily.trigger!.nextFireTimes[0])
    await s.gql(
      'mutation($a: ID!) { setAutoTriggers(automationId: $a, enabled: false) { __typename } }',
      { a },
      { token: editor },
    )
    expect(await next()).toBeNull()
  })
})
