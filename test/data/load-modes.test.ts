import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { onPostgres } from '../helpers/db'
import { type DataFixture, dataFixture } from './helpers'

// Issue 17: UPSERT was delete-then-insert (null keys never matched, a reader could
// find keys missing), REPLACE swapped in a new table (user indexes, comments and grants lost).

let f: DataFixture

const rows = async (sql: string) => {
  const r = await f.sql(sql)
  return (r.outputs as { rows: Record<string, unknown>[] }).rows
}
const load = (query: string, target: Record<string, unknown>) =>
  f.run('SQL_TO_STORAGE', { source: { query }, target })

beforeAll(async () => {
  f = await dataFixture()
})
afterAll(() => f?.stop())

describe('UPSERT', () => {
  const source = `select * from (values (1, 'a', 'one'), (null, 'b', 'null-b'), (null, null, 'null-null'), (2, null, 'two'))
    as v(id, region, label)`

  it('matches rows whose key columns are null, so loading the same rows twice changes nothing', async () => {
    const key = { storage: 'nk', mode: 'UPSERT', key: ['id', 'region'] }
    const first = await load(source, key)
    expect(first.error).toBeNull()
    expect(first.outputs).toMatchObject({ rowsLoaded: 4, rowCount: 4 })
    const again = await load(source.replace(/'(one|null-b|null-null|two)'/g, "'$1!'"), key)
    expect(again.error).toBeNull()
    expect(again.outputs).toMatchObject({ rowsLoaded: 4, rowCount: 4 })
    expect(await rows('select id, region, label from nk order by id nulls last, region nulls last')).toEqual([
      { id: 1, region: 'a', label: 'one!' },
      { id: 2, region: null, label: 'two!' },
      { id: null, region: 'b', label: 'null-b!' },
      { id: null, region: null, label: 'null-null!' },
    ])
  })

  it('keeps the key in a NULLS NOT DISTINCT unique index, created once', async () => {
    const key = { storage: 'ix', mode: 'UPSERT', key: ['id'] }
    await load('select 1 as id, 10 as v', key)
    await load('select 1 as id, 20 as v union all select 2, 30', key)
    expect(await rows("select indexdef from pg_indexes where tablename = 'ix'")).toEqual([
      { indexdef: expect.stringMatching(/^CREATE UNIQUE INDEX .* \(id\) NULLS NOT DISTINCT$/) },
    ])
    expect(await rows('select id, v from ix order by id')).toEqual([
      { id: 1, v: 20 },
      { id: 2, v: 30 },
    ])
  })

  it('takes the last of several source rows with one key', async () => {
    const run = await load(
      `select * from (values (1, 'first'), (1, 'second'), (null::int, 'n1'), (null, 'n2')) as v(id, label)`,
      { storage: 'twice', mode: 'UPSERT', key: ['id'] },
    )
    expect(run.outputs).toMatchObject({ rowsLoaded: 4, rowCount: 2 })
    expect(await rows('select id, label from twice order by id')).toEqual([
      { id: 1, label: 'second' },
      { id: null, label: 'n2' },
    ])
  })

  it('names the existing rows that repeat a key instead of loading', async () => {
    await load(
      `select * from (values (1, 'x'), (1, 'y'), (null::int, 'p'), (null, 'q'), (2, 'z')) as v(id, label)`,
      {
        storage: 'dupes',
      },
    )
    const run = await load('select 2 as id, $$new$$ as label', {
      storage: 'dupes',
      mode: 'UPSERT',
      key: ['id'],
    })
    expect(run.state).toBe('FAILED')
    expect(run.error).toMatch(
      /^UPSERT into dupes needs one row per key \(id\), but the storage already has several rows for: id=("1" \(2 rows\); id=null|null \(2 rows\); id="1") \(2 rows\)\. Delete the extra rows/,
    )
    expect(await rows('select count(*)::int as n from dupes')).toEqual([{ n: 5 }])
  })

  it('a concurrent reader never finds a key missing while an UPSERT runs', async () => {
    await load('select g as id, 0 as v from generate_series(1, 100) g', { storage: 'busy' })
    const upsert = { storage: 'busy', mode: 'UPSERT', key: ['id'] }
    // Locks the rows it reads, so it waits for the UPSERT's transaction and then sees its outcome.
    const reader = await createAutomation(f.s, f.editor, {
      name: 'reader',
      kind: 'SQL',
      config: { statement: 'select count(*)::int as n from (select id from busy for share) s' },
    })
    const upserter = await createAutomation(f.s, f.editor, {
      name: 'upserter',
      kind: 'SQL_TO_STORAGE',
      config: { source: { query: 'select g as id, 1 as v from generate_series(1, 50) g' }, target: upsert },
    })
    if (onPostgres()) {
      // The UPSERT pauses (holding its row locks) after its rows went in; the reader queues behind it.
      await f.sql(`create function busy_pause() returns trigger language plpgsql as $$
        begin perform pg_sleep(3); return null; end $$`)
      await f.sql(
        'create trigger pause after insert on busy for each statement execute function busy_pause()',
      )
    }
    const writing = await runAutomation(f.s, f.editor, upserter)
    if (onPostgres()) {
      const deadline = Date.now() + 20_000
      while (
        (
          await f.s.db.query(
            `select 1 from pg_stat_activity where wait_event = 'PgSleep' and query like 'insert into "busy"%'`,
          )
        ).length === 0
      ) {
        if (Date.now() > deadline) throw new Error('the UPSERT never reached its insert')
        await new Promise((r) => setTimeout(r, 25))
      }
    }
    const reading = await runAutomation(f.s, f.editor, reader)
    const [w, r] = await Promise.all([waitForRun(f.s, f.editor, writing), waitForRun(f.s, f.editor, reading)])
    expect(w.error).toBeNull()
    expect(r.error).toBeNull()
    expect((r.outputs as { rows: { n: number }[] }).rows).toEqual([{ n: 100 }])
    expect(await rows('select sum(v)::int as s, count(*)::int as n from busy')).toEqual([{ s: 50, n: 100 }])
  })
})

describe('REPLACE', () => {
  it('keeps the indexes, comments and grants users added, and views on the storage', async () => {
    await load('select 1 as id, $$a$$ as label, 1.5 as amount', { storage: 'kept' })
    await f.sql('create index kept_label on kept (label)')
    await f.sql('create unique index kept_id on kept (id)')
    await f.sql("comment on table kept is 'sales by id'")
    await f.sql("comment on column kept.label is 'shown name'")
    await f.sql('grant select on kept to public')
    await f.sql('create view kept_view as select id, label from kept')
    const run = await load(
      'select g as id, $$x$$ || g as label, g * 2.5 as amount from generate_series(1, 3) g',
      {
        storage: 'kept',
      },
    )
    expect(run.error).toBeNull()
    expect(run.outputs).toMatchObject({ mode: 'REPLACE', rowsLoaded: 3, rowCount: 3 })
    expect(await rows("select indexname from pg_indexes where tablename = 'kept' order by 1")).toEqual([
      { indexname: 'kept_id' },
      { indexname: 'kept_label' },
    ])
    expect(
      await rows(`select obj_description('kept'::regclass, 'pg_class') as t,
        col_description('kept'::regclass, 2) as c, has_table_privilege('public', 'kept', 'select') as granted`),
    ).toEqual([{ t: 'sales by id', c: 'shown name', granted: true }])
    expect(await rows('select id, label from kept_view order by id')).toEqual([
      { id: 1, label: 'x1' },
      { id: 2, label: 'x2' },
      { id: 3, label: 'x3' },
    ])
  })

  it('changes the columns: kept ones keep their index, new ones are added, missing ones dropped', async () => {
    await load('select 1 as id, 2 as gone, 3 as retyped', { storage: 'shape' })
    await f.sql('create index shape_id on shape (id)')
    await f.sql('create index shape_gone on shape (gone)')
    const run = await load('select 7 as id, $$t$$ as retyped, true as added', { storage: 'shape' })
    expect(run.error).toBeNull()
    expect(await rows('select * from shape')).toEqual([{ id: 7, retyped: 't', added: true }])
    expect(await rows("select indexname from pg_indexes where tablename = 'shape'")).toEqual([
      { indexname: 'shape_id' },
    ])
  })

  it('fails on rows a user constraint refuses, and leaves the previous rows', async () => {
    await load('select 1 as id', { storage: 'guarded' })
    await f.sql('alter table guarded add constraint positive check (id > 0)')
    const run = await load('select -1 as id', { storage: 'guarded' })
    expect(run.state).toBe('FAILED')
    expect(run.error).toMatch(/violates check constraint "positive"/)
    expect(await rows('select id from guarded')).toEqual([{ id: 1 }])
  })
})
