import { describe, expect, it } from 'vitest'
import { create, editor, noop, s, useTriggerApi } from './api-fixture'

useTriggerApi()

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
