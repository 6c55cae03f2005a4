import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Context } from '../../server/src/graphql/context'
import type { SandboxPool } from '../../server/src/sandbox'
import { startScheduler } from '../../server/src/scheduler/scheduler'
import { ticksFrom } from '../../server/src/triggers/cron'
import type { Warehouse } from '../../server/src/warehouse/warehouse'
import { type TestDatabase, testDatabase } from '../helpers/db'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import {
  engineFor,
  T0,
  automation,
  config,
  contextFor,
  createManualClock,
  fakeScheduler,
  firedTicks,
  log,
  trigger,
} from './helpers'

let tdb: TestDatabase
let org: TestOrg
let ctx: Context

beforeAll(async () => {
  tdb = await testDatabase()
  org = await createOrg(tdb.db)
  ctx = contextFor(tdb.db, org)
})
afterAll(() => tdb?.drop())

describe('time zones and DST', () => {
  const iso = (ds: Date[]) => ds.map((d) => d.toISOString())

  it('a daily 02:30 in New York runs once on both DST days, at 03:00 when 02:30 does not exist', () => {
    const spring = ticksFrom('30 2 * * *', 'America/New_York', new Date('2026-03-07T12:00:00Z'), 3)
    // 2026-03-08: 02:30 EST never happens; the tick moves to 03:00 EDT (07:00Z), then 02:30 EDT (06:30Z).
    expect(iso(spring)).toEqual([
      '2026-03-08T07:00:00.000Z',
      '2026-03-09T06:30:00.000Z',
      '2026-03-10T06:30:00.000Z',
    ])
    const fall = ticksFrom('30 1 * * *', 'America/New_York', new Date('2026-10-31T12:00:00Z'), 2)
    // 2026-11-01: 01:30 happens twice; a fixed-time job runs once (the first, EDT).
    expect(iso(fall)).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z'])
  })

  it('an hourly job runs on both 01:00 of the fall-back night and skips the missing 02:00 in spring', () => {
    const fall = ticksFrom('0 * * * *', 'America/New_York', new Date('2026-11-01T04:30:00Z'), 3)
    expect(iso(fall)).toEqual([
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T06:00:00.000Z',
      '2026-11-01T07:00:00.000Z',
    ])
    const spring = ticksFrom('0 * * * *', 'America/New_York', new Date('2026-03-08T05:30:00Z'), 2)
    expect(iso(spring)).toEqual(['2026-03-08T06:00:00.000Z', '2026-03-08T07:00:00.000Z'])
  })

  it('the scheduler fires the DST-shifted tick when the clock reaches it', async () => {
    const start = Date.parse('2026-03-08T06:59:00Z')
    const clock = createManualClock(start)
    const a = await automation(ctx, { name: 'dst', kind: 'NOOP', config: {} })
    const t = await trigger(
      ctx,
      a,
      { type: 'CRON', config: { cron: '30 2 * * *', timezone: 'America/New_York', overlapPolicy: 'ALLOW' } },
      start,
    )
    const s = await fakeScheduler(tdb.db, clock)
    clock.set(Date.parse('2026-03-08T07:00:00Z'))
    await s.pass()
    expect(await firedTicks(tdb.db, t)).toEqual(['2026-03-08T07:00:00.000Z'])
  })
})

describe('the scheduler loop on fake time', () => {
  it('sleeps until the next tick, fires it when time gets there, and stops cleanly', async () => {
    const clock = createManualClock(T0)
    const a = await automation(ctx, { name: 'looped', kind: 'NOOP', config: {} })
    const t = await trigger(
      ctx,
      a,
      { type: 'CRON', config: { cron: '*/30 * * * * *', overlapPolicy: 'ALLOW' } },
      T0,
    )
    const s = await startScheduler({
      db: tdb.db,
      engine: engineFor(tdb.db),
      log,
      clock,
      settings: { ...config.triggers, lookaheadMs: 0 },
      warehouse: {} as Warehouse,
      sandbox: {} as SandboxPool,
    })
    try {
      const until = async (n: number) => {
        for (let i = 0; i < 1000 && (await firedTicks(tdb.db, t)).length < n; i++)
          await new Promise((r) => setTimeout(r, 10))
        return firedTicks(tdb.db, t)
      }
      // Time moves only while both loops sleep on the fake clock: advanced mid-pass, a loop
      // would plan its next sleep from the new time and step over the tick the test waits for.
      const asleep = async () => {
        for (let i = 0; i < 1000 && clock.sleepers < 2; i++) await new Promise((r) => setTimeout(r, 10))
        expect(clock.sleepers).toBe(2)
      }
      // Nothing is due yet: both loops go to sleep on the fake clock.
      await asleep()
      expect(await firedTicks(tdb.db, t)).toEqual([])
      clock.advance(30_000)
      expect(await until(1)).toEqual([new Date(T0 + 30_000).toISOString()])
      await asleep()
      clock.advance(30_000)
      expect(await until(2)).toHaveLength(2)
    } finally {
      await s.stop()
    }
    expect(clock.sleepers).toBe(0)
  })
})
