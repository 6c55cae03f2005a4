import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation } from '../helpers/automations'
import { type TestDatabase, testDatabase } from '../helpers/db'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { killAllNodes, spawnNode } from '../helpers/processes'
import { type TestServer, startTestServer } from '../helpers/server'

// Scheduler processes against one database, killed at bad moments: every tick of
// an every-second schedule must fire exactly once, whoever survives.
let database: TestDatabase
let s: TestServer
let org: TestOrg
let token: string

beforeAll(async () => {
  database = await testDatabase()
  // No worker anywhere: fired runs stay QUEUED, so the test sees exactly what the schedulers did.
  s = await startTestServer({ database, env: { SWITCHYARD_ROLES: 'api' } })
  org = await createOrg(s.db)
  token = await s.login(org.users.editor!.email, org.users.editor!.password)
})
afterEach(() => killAllNodes())
afterAll(async () => {
  await s?.stop()
  await database?.drop()
})

const scheduler = () =>
  spawnNode({
    databaseUrl: database.url!,
    role: 'scheduler',
    env: { SWITCHYARD_SCHEDULER_LOOKAHEAD_MS: '0' },
  })
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('CRON with scheduler processes killed and restarted', () => {
  it('fires every tick once: two schedulers, one killed -9, then none, then a new one catching up', async () => {
    const id = await createAutomation(s, token, { name: 'every second', kind: 'NOOP', config: {} })
    const created = await s.gql<{ createTrigger: { __typename: string } }>(
      `mutation($a: ID!, $i: TriggerInput!) { createTrigger(automationId: $a, input: $i) { __typename } }`,
      {
        a: id,
        i: { type: 'CRON', config: { cron: '* * * * * *', missedTickPolicy: 'ALL', overlapPolicy: 'ALLOW' } },
      },
      { token },
    )
    expect(created.data!.createTrigger.__typename).toBe('TriggerPayload')

    const a = await scheduler()
    const b = await scheduler()
    await pause(3_000)
    await a.kill9()
    await pause(3_000)
    await b.kill9()
    // Nobody schedules for a while: these ticks are missed, and ALL must fire each of them later.
    await pause(3_000)
    const c = await scheduler()
    await pause(3_000)
    await c.stop()

    const fires = await s.db.query<{ at: Date; n: number }>(
      `select f.scheduled_at as at, count(*)::int as n from trigger_fires f
         join triggers t on t.id = f.trigger_id where t.automation_id = $1
        group by f.scheduled_at order by f.scheduled_at`,
      [id],
    )
    const runs = await s.db.query<{ n: number }>(
      "select count(*)::int as n from runs where automation_id = $1 and trigger_source = 'SCHEDULE'",
      [id],
    )
    expect(fires.length).toBeGreaterThanOrEqual(10)
    // Exactly once: one fire and one run per tick.
    expect(fires.every((f) => f.n === 1)).toBe(true)
    expect(runs[0]!.n).toBe(fires.length)
    // None missing: consecutive seconds from the first tick to the last, the dead stretch included.
    const seconds = fires.map((f) => f.at.getTime() / 1000)
    expect(seconds.every((t, i) => i === 0 || t === seconds[i - 1]! + 1)).toBe(true)
    // The ticks of the dead stretch fired late, and an event says so with the automation
    // (one per scheduler pass, naming the ticks it covers).
    const late = await s.db.query<{ message: string }>(
      "select message from trigger_events where automation_id = $1 and kind = 'LATE'",
      [id],
    )
    expect(late.length).toBeGreaterThanOrEqual(1)
  })
})
