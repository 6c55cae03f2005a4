import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Queryable, queryLast } from '../../server/src/db/database'
import { type TestDatabase, testDatabase } from '../helpers/db'

/**
 * Database.transaction on postgres.js pipelines its BEGIN with the first statements and,
 * with queryLast, its COMMIT with the last one (PGlite runs them one by one). Pipelining
 * must not change what a transaction means: all of it commits, or none of it does and the
 * caller gets the statement's own error, awaited or not.
 */
describe('transactions', () => {
  let t: TestDatabase
  beforeAll(async () => {
    t = await testDatabase()
    await t.db.query('create table tx_probe (id int primary key, note text not null)')
  })
  afterAll(() => t.drop())

  const notes = async (): Promise<string[]> =>
    (await t.db.query<{ note: string }>('select note from tx_probe order by id')).map((r) => r.note)
  const clear = () => t.db.query('delete from tx_probe')

  it('commits every statement and returns what the callback returns', async () => {
    await clear()
    const result = await t.db.transaction(async (tx) => {
      // Sent without waiting: they still run in order.
      const a = tx.query(`insert into tx_probe values (1, 'a')`)
      const b = tx.query(`insert into tx_probe values (2, 'b') returning note`)
      await a
      return (await b)[0]
    })
    expect(result).toEqual({ note: 'b' })
    expect(await notes()).toEqual(['a', 'b'])
  })

  it('rolls back and throws the failed statement’s error, not the ones refused after it', async () => {
    await clear()
    const attempt = t.db.transaction(async (tx) => {
      const first = tx.query(`insert into tx_probe values (1, 'kept?')`)
      const bad = tx.query(`insert into tx_probe values (1, 'duplicate')`)
      const after = tx.query(`insert into tx_probe values (2, 'after')`)
      await Promise.all([first, bad, after])
    })
    await expect(attempt).rejects.toMatchObject({ code: '23505' })
    expect(await notes()).toEqual([])
  })

  it('a failed statement the callback never awaited still rolls the transaction back', async () => {
    await clear()
    const attempt = t.db.transaction(async (tx) => {
      await tx.query(`insert into tx_probe values (1, 'first')`)
      void tx.query('select 1 / 0').catch(() => {})
      return 'done'
    })
    await expect(attempt).rejects.toMatchObject({ code: '22012' })
    expect(await notes()).toEqual([])
  })

  it('queryLast returns the last statement’s rows once committed, and nothing may follow it', async () => {
    await clear()
    const pipelined = t.db.driver === 'postgres'
    let late: Promise<unknown> | undefined
    const rows = await t.db.transaction(async (tx) => {
      void tx.query(`insert into tx_probe values (1, 'one')`)
      const last = await queryLast<{ n: number }>(
        tx,
        `insert into tx_probe values (2, 'two') returning id as n`,
      )
      if (pipelined) {
        // Committed already: another connection sees both rows (PGlite has one session,
        // busy with this transaction until the callback returns).
        expect(await notes()).toEqual(['one', 'two'])
        late = tx.query(`insert into tx_probe values (3, 'too late')`)
      }
      return last
    })
    expect(rows).toEqual([{ n: 2 }])
    if (pipelined) await expect(late).rejects.toThrow(/after the transaction's last one/)
    expect(await notes()).toEqual(['one', 'two'])
  })

  it('a failing last statement rolls back everything before it', async () => {
    await clear()
    const attempt = t.db.transaction(async (tx: Queryable) => {
      await tx.query(`insert into tx_probe values (1, 'before')`)
      return queryLast(tx, `insert into tx_probe values (1, 'duplicate')`)
    })
    await expect(attempt).rejects.toMatchObject({ code: '23505' })
    expect(await notes()).toEqual([])
  })
})
