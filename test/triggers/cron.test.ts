import { syncingQueue } from '../../server/src/engine/run-queue'
import { RUN_COLUMNS } from '../../server/src/engine/run-row'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Context } from '../../server/src/graphql/context'
import { openDatabase } from '../../server/src/db/database'
import { installTriggerHooks } from '../../server/src/triggers/after-automation'
import { type TestDatabase, testDatabase } from '../helpers/db'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import {
  T0,
  engineFor,
  automation,
  contextFor,
  createManualClock,
  eventsOf,
  fakeScheduler,
  finish,
  firedTicks,
  log,
  runsOf,
  trigger,
} from './helpers'

let tdb: TestDatabase
let org: TestOrg
let ctx: Context
let hooks: { stop(): Promise<void> }

beforeAll(async () => {
  tdb = await testDatabase()
  org = await createOrg(tdb.db)
  ctx = contextFor(tdb.db, org)
  hooks = await installTriggerHooks(engineFor(tdb.db), tdb.db, log)
})
afterAll(async () => {
  await hooks?.stop()
  await tdb?.drop()
})

const everySecond = (extra: Record<string, unknown> = {}) => ({
  type: 'CRON',
  config: { cron: '* * * * * *', overlapPolicy: 'ALLOW', ...extra },
})

describe('CRON exactly once', () => {
  it('two schedulers on one database fire each tick exactly once', async () => {
    // On PostgreSQL the second scheduler has its own connection pool, as a second process would.
    const other = tdb.url ? await openDatabase({ databaseUrl: tdb.url, max: 4 }) : tdb.db
    const clock = createManualClock(T0)
    const a1 = await automation(ctx, { name: 'twice-a', kind: 'NOOP', config: {} })
    const a2 = await automation(ctx, { name: 'twice-b', kind: 'NOOP', config: {} })
    const t1 = await trigger(ctx, a1, everySecond(), T0)
    const t2 = await trigger(ctx, a2, everySecond({ cron: '*/2 * * * * *' }), T0)
    const s1 = await fakeScheduler(tdb.db, clock)
    const s2 = await fakeScheduler(other, clock, {}, { lookaheadMs: 500 })
    try {
      for (let i = 0; i < 30; i++) {
        clock.advance(1000)
        await Promise.all([s1.pass(), s2.pass(), s1.pass()])
      }
      const expected = Array.from({ length: 30 }, (_, i) => new Date(T0 + (i + 1) * 1000).toISOString())
      // s2 queues ahead: the tick half a second beyond the last pass may already be fired.
      const ticks1 = await firedTicks(tdb.db, t1)
      expect(ticks1.slice(0, 30)).toEqual(expected)
      expect((await runsOf(tdb.db, a1)).length).toBe(ticks1.length)
      const ticks2 = await firedTicks(tdb.db, t2)
      expect(ticks2.slice(0, 15)).toEqual(expected.filter((_, i) => i % 2 === 1))
      expect((await runsOf(tdb.db, a2)).length).toBe(ticks2.length)
      expect((await eventsOf(tdb.db, a1)).filter((e) => e.kind !== 'LATE')).toEqual([])
    } finally {
      if (other !== tdb.db) await other.close()
    }
  })

  it('queues ticks ahead with their due time (overlap ALLOW, no mutex), so a worker starts them on time', async () => {
    const clock = createManualClock(T0 + 100)
    const a = await automation(ctx, { name: 'ahead', kind: 'NOOP', config: {} })
    await trigger(
      ctx,
      a,
      { type: 'CRON', config: { cron: '*/5 * * * * *', overlapPolicy: 'ALLOW' } },
      T0 + 100,
    )
    const s = await fakeScheduler(tdb.db, clock, {}, { lookaheadMs: 1000 })
    clock.set(T0 + 4200)
    await s.pass()
    const runs = await runsOf(tdb.db, a)
    expect(runs).toHaveLength(1)
    expect(new Date(runs[0]!.run_at).toISOString()).toBe(new Date(T0 + 5000).toISOString())
    expect(runs[0]!.trigger_source).toBe('SCHEDULE')
  })
})

describe('missed and late ticks', () => {
  // Every minute; the scheduler is "down" for ten minutes (the misfire window is 60 s).
  async function outage(policy: string) {
    const clock = createManualClock(T0)
    const a = await automation(ctx, { name: `missed-${policy}`, kind: 'NOOP', config: {} })
    const t = await trigger(
      ctx,
      a,
      { type: 'CRON', config: { cron: '0 * * * * *', missedTickPolicy: policy, overlapPolicy: 'ALLOW' } },
      T0,
    )
    const s = await fakeScheduler(tdb.db, clock)
    clock.set(T0 + 10 * 60_000 + 30_000)
    await s.pass()
    return { a, t, ticks: await firedTicks(tdb.db, t), events: await eventsOf(tdb.db, a) }
  }
  const minute = (n: number) => new Date(T0 + n * 60_000).toISOString()

  it('SKIP records the missed ticks and fires only those within the misfire window', async () => {
    const { ticks, events } = await outage('SKIP')
    expect(ticks).toEqual([minute(10)])
    const missed = events.find((e) => e.kind === 'MISSED')!
    expect(missed.message).toContain('9 ticks missed')
    expect(missed.message).toContain('policy SKIP: none fired')
    expect(events.find((e) => e.kind === 'LATE')?.message).toContain('30.0s late')
  })

  it('ONCE fires one run for all the missed ticks', async () => {
    const { ticks, events } = await outage('ONCE')
    expect(ticks).toEqual([minute(9), minute(10)])
    expect(events.map((e) => e.kind)).toEqual(expect.arrayContaining(['MISSED', 'CAUGHT_UP', 'LATE']))
    expect(events.filter((e) => e.kind === 'CAUGHT_UP')).toHaveLength(1)
  })

  it('ALL fires every missed tick', async () => {
    const { ticks, events } = await outage('ALL')
    expect(ticks).toEqual(Array.from({ length: 10 }, (_, i) => minute(i + 1)))
    expect(events.filter((e) => e.kind === 'CAUGHT_UP')).toHaveLength(9)
  })

  it('a tick handled more than lateMs after its time is recorded LATE, on time is not', async () => {
    const clock = createManualClock(T0)
    const a = await automation(ctx, { name: 'late', kind: 'NOOP', config: {} })
    await trigger(ctx, a, { type: 'CRON', config: { cron: '*/10 * * * * *', overlapPolicy: 'ALLOW' } }, T0)
    const s = await fakeScheduler(tdb.db, clock)
    clock.set(T0 + 10_000)
    await s.pass()
    clock.set(T0 + 23_500)
    await s.pass()
    const events = await eventsOf(tdb.db, a)
    expect(events.map((e) => [e.kind, new Date(e.scheduled_at!).toISOString()])).toEqual([
      ['LATE', new Date(T0 + 20_000).toISOString()],
    ])
    expect(events[0]!.message).toContain('3.5s late')
  })
})

describe('overlap policy', () => {
  async function setup(policy: string, name = 'a') {
    const clock = createManualClock(T0)
    const a = await automation(ctx, { name: `overlap-${policy}-${name}`, kind: 'NOOP', config: {} })
    const t = await trigger(
      ctx,
      a,
      { type: 'CRON', config: { cron: '*/10 * * * * *', overlapPolicy: policy } },
      T0,
    )
    const s = await fakeScheduler(tdb.db, clock)
    // No worker runs here: every fired run stays QUEUED, i.e. active.
    const step = async (at: number) => {
      clock.set(T0 + at)
      await s.pass()
    }
    return { a, t, step, clock, s }
  }

  it('SKIP drops a tick while the previous run is active and says so', async () => {
    const { a, step } = await setup('SKIP')
    await step(10_000)
    await step(20_000)
    expect(await runsOf(tdb.db, a)).toHaveLength(1)
    const skipped = (await eventsOf(tdb.db, a)).filter((e) => e.kind === 'SKIPPED')
    expect(skipped).toHaveLength(1)
    expect(skipped[0]!.message).toMatch(/still active; overlap policy SKIP/)
  })

  it('QUEUE keeps one tick waiting and fires it when the previous run ends', async () => {
    const { a, t, step } = await setup('QUEUE')
    await step(10_000)
    await step(20_000)
    await step(30_000)
    const runs = await runsOf(tdb.db, a)
    expect(runs).toHaveLength(1)
    const kinds = (await eventsOf(tdb.db, a)).map((e) => e.kind)
    expect(kinds).toEqual(['QUEUED', 'SKIPPED'])
    await finish(tdb.db, [runs[0]!.id])
    const after = await runsOf(tdb.db, a)
    expect(after).toHaveLength(2)
    expect(await firedTicks(tdb.db, t)).toEqual(
      [T0 + 10_000, T0 + 20_000].map((n) => new Date(n).toISOString()),
    )
  })

  it('QUEUE fires a tick left waiting by a missed release before the newer tick, each once', async () => {
    const { a, t, step } = await setup('QUEUE', 'missed-release')
    await step(10_000)
    await step(20_000)
    const [first] = await runsOf(tdb.db, a)
    // The run ends without its finish hook (as when the hook could not lock the trigger).
    await tdb.db.query(
      syncingQueue(
        `update runs set state = 'SUCCEEDED', finished_at = now() where id = $1 returning ${RUN_COLUMNS}`,
      ),
      [first!.id],
    )
    await step(30_000)
    const tick = (s: number) => new Date(T0 + s * 1000).toISOString()
    // The waiting tick of :20 fires now; :30 waits behind it.
    expect(await firedTicks(tdb.db, t)).toEqual([tick(10), tick(20)])
    const [, second] = await runsOf(tdb.db, a)
    const [row] = await tdb.db.query<{ pending_fire_at: Date | null; last_run_id: string }>(
      'select pending_fire_at, last_run_id from triggers where id = $1',
      [t],
    )
    expect(new Date(row!.pending_fire_at!).toISOString()).toBe(tick(30))
    expect(row!.last_run_id).toBe(second!.id)
    await finish(tdb.db, [second!.id])
    await step(40_000)
    expect(await firedTicks(tdb.db, t)).toEqual([tick(10), tick(20), tick(30)])
    const fired = (await eventsOf(tdb.db, a)).filter((e) => e.kind === 'FIRED')
    expect(fired.map((e) => new Date(e.scheduled_at!).toISOString())).toEqual([tick(20), tick(30)])
  })

  it('ALLOW fires regardless', async () => {
    const { a, step } = await setup('ALLOW')
    await step(10_000)
    await step(20_000)
    expect(await runsOf(tdb.db, a)).toHaveLength(2)
  })
})

describe('switches', () => {
  it('a disabled trigger, a switched-off automation and a deleted automation fire nothing', async () => {
    const clock = createManualClock(T0)
    const s = await fakeScheduler(tdb.db, clock)
    const [a1, a2, a3] = await Promise.all(
      ['off-trigger', 'off-auto', 'deleted'].map((name) =>
        automation(ctx, { name, kind: 'NOOP', config: {} }),
      ),
    )
    await trigger(ctx, a1!, { ...everySecond(), enabled: false }, T0)
    await trigger(ctx, a2!, everySecond(), T0)
    await trigger(ctx, a3!, everySecond(), T0)
    await tdb.db.query(
      'insert into trigger_settings (automation_id, org_id, auto_triggers) values ($1, $2, false)',
      [a2, org.id],
    )
    await tdb.db.query('update automations set deleted_at = now() where id = $1', [a3])
    clock.advance(5000)
    await s.pass()
    for (const a of [a1!, a2!, a3!]) expect(await runsOf(tdb.db, a)).toHaveLength(0)
  })
})
