import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Context } from '../../server/src/graphql/context'
import { type SandboxPool, createSandboxPool } from '../../server/src/sandbox'
import type { Scheduler } from '../../server/src/scheduler/scheduler'
import type { Warehouse } from '../../server/src/warehouse/warehouse'
import { testWarehouse } from '../helpers/warehouse'
import { type TestDatabase, testDatabase } from '../helpers/db'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import {
  T0,
  automation,
  contextFor,
  createManualClock,
  eventsOf,
  fakeScheduler,
  runsOf,
  trigger,
} from './helpers'

let tdb: TestDatabase
let org: TestOrg
let ctx: Context
let warehouse: Warehouse
let sandbox: SandboxPool
const clock = createManualClock(T0)
let s: Scheduler

beforeAll(async () => {
  tdb = await testDatabase()
  org = await createOrg(tdb.db)
  ctx = contextFor(tdb.db, org)
  warehouse = testWarehouse(tdb)
  sandbox = createSandboxPool({ warm: 0 })
  s = await fakeScheduler(tdb.db, clock, { warehouse, sandbox })
})
afterAll(async () => {
  await sandbox?.stop()
  await warehouse?.stop()
  await tdb?.drop()
})

const sql = (statement: string) =>
  warehouse.execute({ orgId: org.id, statement, parameters: {}, timeoutMs: 10_000 })
/** Moves fake time on by `seconds` and runs one scheduler pass. */
const passAfter = async (seconds: number) => {
  clock.advance(seconds * 1000)
  await s.pass()
}
const kinds = async (a: string) => (await eventsOf(tdb.db, a)).map((e) => e.kind)

describe('DATASET_CHANGE', () => {
  it('records a baseline, then fires once a change has settled through the grace delay (recheck)', async () => {
    await sql('create table orders (id int, updated_at timestamptz)')
    const a = await automation(ctx, { name: 'on-orders', kind: 'NOOP', config: {} })
    await trigger(
      ctx,
      a,
      {
        type: 'DATASET_CHANGE',
        config: {
          table: 'orders',
          column: 'updated_at',
          intervalSeconds: 30,
          graceSeconds: 60,
          recheck: true,
        },
      },
      clock.now(),
    )
    await passAfter(0)
    expect(await kinds(a)).toEqual(['RECORDED'])
    await passAfter(30)
    expect(await runsOf(tdb.db, a)).toHaveLength(0)

    await sql("insert into orders values (1, '2026-01-01')")
    await passAfter(30)
    expect(await kinds(a)).toEqual(['RECORDED', 'CHANGED'])
    // Still loading when the grace delay ends: wait again.
    await sql("insert into orders values (2, '2026-01-02')")
    await passAfter(60)
    expect(await kinds(a)).toEqual(['RECORDED', 'CHANGED', 'CHANGED'])
    expect(await runsOf(tdb.db, a)).toHaveLength(0)
    // Settled: fires once, then stays quiet.
    await passAfter(60)
    expect(await runsOf(tdb.db, a)).toHaveLength(1)
    expect((await runsOf(tdb.db, a))[0]!.trigger_source).toBe('DATASET_CHANGE')
    await passAfter(30)
    await passAfter(30)
    expect(await runsOf(tdb.db, a)).toHaveLength(1)
    expect(await kinds(a)).toEqual(['RECORDED', 'CHANGED', 'CHANGED', 'FIRED'])
  })

  it('without grace fires at the first evaluation that sees a change', async () => {
    await sql('create table customers (id int)')
    const a = await automation(ctx, { name: 'on-customers', kind: 'NOOP', config: {} })
    await trigger(
      ctx,
      a,
      { type: 'DATASET_CHANGE', config: { table: 'customers', intervalSeconds: 10 } },
      clock.now(),
    )
    await passAfter(0)
    await sql('insert into customers values (1)')
    await passAfter(10)
    expect(await runsOf(tdb.db, a)).toHaveLength(1)
  })

  it('with a grace delay and no recheck fires once when the delay ends, even if the table still changes', async () => {
    await sql('create table shipments (id int)')
    const a = await automation(ctx, { name: 'on-shipments', kind: 'NOOP', config: {} })
    await trigger(
      ctx,
      a,
      { type: 'DATASET_CHANGE', config: { table: 'shipments', intervalSeconds: 10, graceSeconds: 40 } },
      clock.now(),
    )
    await passAfter(0)
    await sql('insert into shipments values (1)')
    await passAfter(10)
    expect(await kinds(a)).toEqual(['RECORDED', 'CHANGED'])
    // Changes during the delay neither restart it (no recheck) nor fire early.
    await sql('insert into shipments values (2)')
    await passAfter(20)
    expect(await runsOf(tdb.db, a)).toHaveLength(0)
    await passAfter(20)
    expect(await runsOf(tdb.db, a)).toHaveLength(1)
    const fired = (await eventsOf(tdb.db, a)).at(-1)!
    expect(fired.kind).toBe('FIRED')
    expect(fired.message).toBe('shipments changed and the grace delay passed')
    // The table as it was when it fired is the new baseline: quiet until it changes again.
    await passAfter(10)
    await passAfter(10)
    expect(await runsOf(tdb.db, a)).toHaveLength(1)
    expect(await kinds(a)).toEqual(['RECORDED', 'CHANGED', 'FIRED'])
  })

  it('a missing table is one ERROR event, not one per evaluation', async () => {
    const a = await automation(ctx, { name: 'on-nothing', kind: 'NOOP', config: {} })
    await trigger(
      ctx,
      a,
      { type: 'DATASET_CHANGE', config: { table: 'nope', intervalSeconds: 10 } },
      clock.now(),
    )
    await passAfter(0)
    await passAfter(10)
    await passAfter(10)
    const events = await eventsOf(tdb.db, a)
    expect(events.map((e) => e.kind)).toEqual(['ERROR'])
    expect(events[0]!.message).toMatch(/nope/)
  })
})

describe('SQL_CHANGE', () => {
  it('the first evaluation only records; a changed result fires; the same result does not', async () => {
    await sql('create table sales (amount int)')
    const a = await automation(ctx, { name: 'on-sales', kind: 'NOOP', config: {} })
    await trigger(
      ctx,
      a,
      {
        type: 'SQL_CHANGE',
        config: { query: 'select count(*), sum(amount) from sales', intervalSeconds: 15 },
      },
      clock.now(),
    )
    await sql('insert into sales values (5)')
    await passAfter(0)
    expect(await runsOf(tdb.db, a)).toHaveLength(0)
    expect(await kinds(a)).toEqual(['RECORDED'])
    await passAfter(15)
    expect(await runsOf(tdb.db, a)).toHaveLength(0)
    await sql('insert into sales values (7)')
    await passAfter(15)
    expect(await runsOf(tdb.db, a)).toHaveLength(1)
    await passAfter(15)
    expect(await runsOf(tdb.db, a)).toHaveLength(1)
    expect((await runsOf(tdb.db, a))[0]!.trigger_source).toBe('SQL_CHANGE')
  })

  it('reads in the organization’s own warehouse: platform tables are not there', async () => {
    const a = await automation(ctx, { name: 'sneaky', kind: 'NOOP', config: {} })
    await trigger(
      ctx,
      a,
      { type: 'SQL_CHANGE', config: { query: 'select count(*) from public.users', intervalSeconds: 15 } },
      clock.now(),
    )
    await passAfter(0)
    const events = await eventsOf(tdb.db, a)
    expect(events.map((e) => e.kind)).toEqual(['ERROR'])
    expect(events[0]!.message).toMatch(/does not exist/)
  })
  it('runs the query read-only: a query that writes fails and writes nothing', async () => {
    await sql('create table audit (n int)')
    const a = await automation(ctx, { name: 'writer', kind: 'NOOP', config: {} })
    await trigger(
      ctx,
      a,
      {
        type: 'SQL_CHANGE',
        config: {
          query: 'with w as (insert into audit values (1) returning n) select count(*) from w',
          intervalSeconds: 15,
        },
      },
      clock.now(),
    )
    await passAfter(0)
    const events = await eventsOf(tdb.db, a)
    expect(events.map((e) => e.kind)).toEqual(['ERROR'])
    expect(events[0]!.message).toMatch(/read-only transaction/)
    expect((await sql('select count(*)::int as n from audit')).rows).toEqual([{ n: 0 }])
  })
})

describe('CODE', () => {
  it('a script decides when to fire, passes parameters and keeps state between evaluations', async () => {
    const a = await automation(ctx, {
      name: 'coded',
      kind: 'NOOP',
      config: {},
      parameters: [{ name: 'n', type: 'NUMBER', required: true }],
    })
    await trigger(
      ctx,
      a,
      {
        type: 'CODE',
        config: {
          intervalSeconds: 20,
          code: 'const n = (variables.state ?? 0) + 1\nreturn { fire: n % 2 === 0, parameters: { n }, state: n }',
        },
      },
      clock.now(),
    )
    for (let i = 0; i < 4; i++) await passAfter(i === 0 ? 0 : 20)
    const runs = await runsOf(tdb.db, a)
    expect(runs.map((r) => [r.trigger_source, r.parameters])).toEqual([
      ['CODE', { n: 2 }],
      ['CODE', { n: 4 }],
    ])
  })

  it('a script that throws, or returns the wrong shape, is an ERROR event', async () => {
    const a = await automation(ctx, { name: 'coded-bad', kind: 'NOOP', config: {} })
    await trigger(
      ctx,
      a,
      { type: 'CODE', config: { intervalSeconds: 20, code: 'return { fire: "yes" }' } },
      clock.now(),
    )
    await passAfter(0)
    const [e] = await eventsOf(tdb.db, a)
    expect(e?.kind).toBe('ERROR')
    expect(e?.message).toMatch(/must return \{ fire: boolean/)
  })
})
