// biome-ignore-all lint/suspicious/noTemplateCurlyInString: SQL and configs here hold Switchyard ${variables} on purpose
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOrg } from '../helpers/fixtures'
import { type DataFixture, dataFixture } from './helpers'

let f: DataFixture

const rows = async (sql: string) => {
  const r = await f.sql(sql)
  return (r.outputs as { rows: Record<string, unknown>[] }).rows
}

beforeAll(async () => {
  f = await dataFixture()
  await f.sql(`create table sales (id int, region text, amount numeric, sold_on date)`)
  await f.sql(
    `insert into sales values (1, 'north', 10, '2024-01-01'), (2, 'south', 20, '2024-01-02'), (3, 'north', 30, '2024-01-03'), (4, 'east', 5, '2024-01-03')`,
  )
})
afterAll(() => f?.stop())

describe('SQL_TO_STORAGE', () => {
  it('loads a query into a storage, binding ${variables} as parameters', async () => {
    const run = await f.run(
      'SQL_TO_STORAGE',
      {
        source: {
          query:
            'select region, sum(amount) as total from sales where region <> ${skip} group by region order by region',
        },
        target: { storage: 'totals' },
      },
      { parameters: [{ name: 'skip', type: 'STRING', default: 'east' }] },
    )
    expect(run.state).toBe('SUCCEEDED')
    expect(run.outputs).toMatchObject({ storage: 'totals', mode: 'REPLACE', rowsLoaded: 2, rowCount: 2 })
    expect(await rows('select * from totals order by region')).toEqual([
      { region: 'north', total: '40' },
      { region: 'south', total: '20' },
    ])
    const meta = await f.gql<{ storage: { modifiedAt: string | null; lastRunId: string } }>(
      '{ storage(name: "totals") { modifiedAt lastRunId } }',
    )
    expect(meta.storage.lastRunId).toBe(run.id)
  })

  it('appends, and upserts by key', async () => {
    await f.run('SQL_TO_STORAGE', {
      source: { query: 'select id, amount from sales where id <= 2' },
      target: { storage: 'acc' },
    })
    const appended = await f.run('SQL_TO_STORAGE', {
      source: { query: 'select id, amount from sales where id = 3' },
      target: { storage: 'acc', mode: 'APPEND' },
    })
    expect(appended.outputs).toMatchObject({ rowsLoaded: 1, rowCount: 3 })
    const upserted = await f.run('SQL_TO_STORAGE', {
      source: { query: 'select id, amount * 100 as amount from sales where id in (1, 4)' },
      target: { storage: 'acc', mode: 'UPSERT', key: ['id'] },
    })
    expect(upserted.outputs).toMatchObject({ rowsLoaded: 2, rowCount: 4 })
    expect(await rows('select id, amount::int as amount from acc order by id')).toEqual([
      { id: 1, amount: 1000 },
      { id: 2, amount: 20 },
      { id: 3, amount: 30 },
      { id: 4, amount: 500 },
    ])
  })

  it('reports SQL errors on the run and leaves the storage untouched', async () => {
    const run = await f.run('SQL_TO_STORAGE', {
      source: { query: 'select id, nope from sales' },
      target: { storage: 'totals' },
    })
    expect(run.state).toBe('FAILED')
    expect(run.error).toMatch(/SQL error 42703: column "nope" does not exist/)
    const late = await f.run('SQL_TO_STORAGE', {
      source: { query: 'select id, 1 / (id - 4) as x from sales' },
      target: { storage: 'totals' },
    })
    expect(late.error).toMatch(/division by zero/)
    expect(await rows('select count(*)::int as n from totals')).toEqual([{ n: 2 }])
    expect(await rows("select count(*)::int as n from pg_tables where tablename like '\\_sy\\_%'")).toEqual([
      { n: 0 },
    ])
  })

  it('denies platform tables and other organizations’ warehouses', async () => {
    for (const query of [
      'select * from public.users',
      'select * from public.runs',
      'select * from public.datasources',
    ]) {
      const run = await f.run('SQL_TO_STORAGE', { source: { query }, target: { storage: 'stolen' } })
      expect(run.state).toBe('FAILED')
      // The warehouse is the organization's own database: the platform's tables are not there at all.
      expect(run.error).toMatch(/does not exist/)
    }
    const other = await createOrg(f.s.db)
    const token = await f.s.login(other.users.editor!.email, other.users.editor!.password)
    const { createAutomation, runAutomation, waitForRun } = await import('../helpers/automations')
    const id = await createAutomation(f.s, token, {
      name: 'mine',
      kind: 'SQL',
      config: { statement: 'create table secret (x int)' },
    })
    await waitForRun(f.s, token, await runAutomation(f.s, token, id))
    const schema = `wh_${other.id.replace(/-/g, '')}`
    const run = await f.run('SQL_TO_STORAGE', {
      source: { query: `select * from ${schema}.secret` },
      target: { storage: 'stolen' },
    })
    expect(run.error).toMatch(/does not exist/)
    const unqualified = await f.run('SQL_TO_STORAGE', {
      source: { query: 'select * from secret' },
      target: { storage: 'stolen' },
    })
    expect(unqualified.error).toMatch(/does not exist/)
    // Whatever a statement sets (refused on a server, harmless in an embedded instance of its own),
    // the next one still reaches nothing of the platform.
    await f.run('SQL_TO_STORAGE', {
      source: { query: "select set_config('role', 'postgres', true)" },
      target: { storage: 'x' },
    })
    const after = await f.run('SQL_TO_STORAGE', {
      source: { query: 'select * from public.users' },
      target: { storage: 'stolen' },
    })
    expect(after.error).toMatch(/does not exist/)
  })

  it('fails clearly on a variable that does not exist', async () => {
    const run = await f.run('SQL_TO_STORAGE', {
      source: { query: 'select * from sales where region = ${nope}' },
      target: { storage: 'x' },
    })
    expect(run.state).toBe('FAILED')
    expect(run.error).toBe('${nope} is not a variable or parameter of this run')
  })
})
