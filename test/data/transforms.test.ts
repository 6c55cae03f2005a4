// biome-ignore-all lint/suspicious/noTemplateCurlyInString: SQL and configs here hold Switchyard ${variables} on purpose
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { upload } from './files'
import { type DataFixture, dataFixture } from './helpers'

let f: DataFixture
let targetsFile: string

const rowsOf = async (sql: string) => ((await f.sql(sql)).outputs as { rows: unknown[] }).rows

beforeAll(async () => {
  f = await dataFixture()
  await f.sql('create table customers (id int, name text, tier text)')
  await f.sql("insert into customers values (1, 'Ada', 'gold'), (2, 'Bob', 'silver'), (3, 'Cy', 'gold')")
  await f.sql('create table orders (id int, customer_id int, region text, amount numeric, status text)')
  await f.sql(`insert into orders values (1, 1, 'north', 100, 'paid'), (2, 2, 'south', 50, 'paid'), (3, 1, 'north', 20, 'refunded'),
    (4, 3, 'east', 70, 'paid'), (5, 2, 'south', 5, 'paid'), (6, 9, 'west', 1, 'paid')`)
  await f.sql('create table orders_2023 (id int, customer_id int, region text, amount numeric, status text)')
  await f.sql("insert into orders_2023 values (100, 1, 'north', 10, 'paid')")
  const up = await upload(f.s, f.editor, 'targets.csv', 'region,target\nnorth,150\nsouth,40\n')
  targetsFile = up.body.datasource!.id
})
afterAll(() => f?.stop())

describe('ETL_STEP', () => {
  it('computes, joins, filters and selects with renames', async () => {
    const run = await f.run(
      'ETL_STEP',
      {
        source: { table: 'orders' },
        transform: {
          computed: [{ name: 'with_tax', expression: 's.amount * 1.2' }],
          join: {
            source: { table: 'customers' },
            on: [{ left: 'customer_id', right: 'id' }],
            select: [{ column: 'name', as: 'customer' }],
          },
          filters: [
            { column: 'status', op: '=', value: 'paid' },
            { column: 'region', op: 'IN', value: ['north', 'south', 'east'] },
            { column: 'amount', op: '>=', value: '${minAmount}' },
          ],
          where: "customer <> 'Cy'",
          select: [
            { column: 'id', as: 'order_id' },
            { column: 'customer' },
            { column: 'with_tax', as: 'gross' },
          ],
        },
        target: { storage: 'paid_orders' },
      },
      { parameters: [{ name: 'minAmount', type: 'NUMBER', default: 10 }] },
    )
    expect(run.error).toBeNull()
    expect(await rowsOf('select order_id, customer, gross::text from paid_orders order by order_id')).toEqual(
      [
        { order_id: 1, customer: 'Ada', gross: '120.0' },
        { order_id: 2, customer: 'Bob', gross: '60.0' },
      ],
    )
  })

  it('groups with aggregates and upserts by key', async () => {
    const cfg = {
      source: { query: 'select * from orders where status = ${status}' },
      transform: {
        groupBy: {
          columns: ['region'],
          aggregates: [
            { fn: 'SUM', column: 'amount', as: 'total' },
            { fn: 'COUNT', as: 'n' },
            { fn: 'COUNT_DISTINCT', column: 'customer_id', as: 'customers' },
          ],
        },
      },
      target: { storage: 'by_region', mode: 'UPSERT', key: ['region'] },
    }
    await f.run('ETL_STEP', cfg, {
      parameters: [{ name: 'status', type: 'STRING', default: 'refunded' }],
    })
    const run = await f.run('ETL_STEP', cfg, {
      parameters: [{ name: 'status', type: 'STRING', default: 'paid' }],
    })
    expect(run.error).toBeNull()
    expect(
      await rowsOf('select region, total::int, n::int, customers::int from by_region order by region'),
    ).toEqual([
      { region: 'east', total: 70, n: 1, customers: 1 },
      { region: 'north', total: 100, n: 1, customers: 1 },
      { region: 'south', total: 55, n: 2, customers: 1 },
      { region: 'west', total: 1, n: 1, customers: 1 },
    ])
  })

  it('joins a storage with another datasource (an uploaded file)', async () => {
    const run = await f.run('ETL_STEP', {
      source: {
        query: "select region, sum(amount) as total from orders where status = 'paid' group by region",
      },
      transform: {
        join: {
          source: { datasource: targetsFile },
          type: 'LEFT',
          on: [{ left: 'region', right: 'region' }],
          select: [{ column: 'target' }],
        },
        computed: [],
        select: [{ column: 'region' }, { column: 'total' }, { column: 'target' }],
      },
      target: { storage: 'vs_target' },
    })
    expect(run.error).toBeNull()
    expect(await rowsOf('select region, total::int, target::int from vs_target order by region')).toEqual([
      { region: 'east', total: 70, target: null },
      { region: 'north', total: 100, target: 150 },
      { region: 'south', total: 55, target: 40 },
      { region: 'west', total: 1, target: null },
    ])
    expect(await rowsOf("select count(*)::int as n from pg_tables where tablename like '\\_sy\\_%'")).toEqual(
      [{ n: 0 }],
    )
  })

  it('refuses an invalid transform at save time', async () => {
    const r = await f.s.gql<{ createAutomation: { __typename: string; issues: { path: string }[] } }>(
      `mutation($i: AutomationInput!) { createAutomation(input: $i) { __typename ... on ValidationError { issues { path message } } } }`,
      {
        i: {
          name: 'bad-etl',
          kind: 'ETL_STEP',
          config: {
            source: { table: 'orders' },
            transform: { filters: [{ column: 'x', op: 'IN', value: 3 }] },
            target: { storage: 'x', mode: 'UPSERT' },
          },
        },
      },
      { token: f.editor },
    )
    expect(r.data?.createAutomation.__typename).toBe('ValidationError')
    expect(r.data?.createAutomation.issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(['config.transform.filters.0.value', 'config.target.key']),
    )
  })
})

describe('PIVOT', () => {
  it('turns values into columns', async () => {
    const run = await f.run('PIVOT', {
      source: { table: 'orders' },
      pivot: { rows: ['region'], column: 'status', value: 'amount', aggregate: 'SUM' },
      target: { storage: 'pivoted' },
    })
    expect(run.error).toBeNull()
    expect(await rowsOf('select region, paid::int, refunded::int from pivoted order by region')).toEqual([
      { region: 'east', paid: 70, refunded: null },
      { region: 'north', paid: 100, refunded: 20 },
      { region: 'south', paid: 55, refunded: null },
      { region: 'west', paid: 1, refunded: null },
    ])
    const counted = await f.run('PIVOT', {
      source: { table: 'orders' },
      pivot: { column: 'region', aggregate: 'COUNT', values: ['north', 'south'] },
      target: { storage: 'counted' },
    })
    expect(counted.error).toBeNull()
    expect(await rowsOf('select north::int, south::int from counted')).toEqual([{ north: 2, south: 2 }])
  })

  it('refuses too many pivot columns', async () => {
    const run = await f.run('PIVOT', {
      source: { table: 'orders' },
      pivot: { rows: ['region'], column: 'id', value: 'amount', maxColumns: 3 },
      target: { storage: 'wide' },
    })
    expect(run.error).toMatch(/id has more than 3 distinct values/)
  })
})

describe('CONCATENATE', () => {
  it('stacks sources with the same columns, tagging their origin', async () => {
    const run = await f.run('CONCATENATE', {
      sources: [
        { table: 'orders' },
        { table: 'orders_2023' },
        { query: "select id, customer_id, region, amount, status from orders where region = 'west'" },
      ],
      sourceColumn: 'part',
      target: { storage: 'all_orders' },
    })
    expect(run.error).toBeNull()
    expect(
      await rowsOf('select part, count(*)::int as n from all_orders group by part order by part'),
    ).toEqual([
      { part: 1, n: 6 },
      { part: 2, n: 1 },
      { part: 3, n: 1 },
    ])
    const plain = await f.run('CONCATENATE', {
      sources: [{ datasource: targetsFile }, { query: "select 'east' as region, 10 as target" }],
      target: { storage: 'targets' },
    })
    expect(plain.error).toBeNull()
    expect(await rowsOf('select region, target::int from targets order by region')).toEqual([
      { region: 'east', target: 10 },
      { region: 'north', target: 150 },
      { region: 'south', target: 40 },
    ])
  })

  it('fails clearly when the columns differ', async () => {
    const run = await f.run('CONCATENATE', {
      sources: [{ table: 'orders' }, { table: 'customers' }],
      target: { storage: 'mixed' },
    })
    expect(run.state).toBe('FAILED')
    expect(run.error).toMatch(/^source 2: /)
    expect(await rowsOf("select count(*)::int as n from pg_tables where tablename = 'mixed'")).toEqual([
      { n: 0 },
    ])
  })
})
