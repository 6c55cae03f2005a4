import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestDatabase, testDatabase } from '../helpers/db'

/**
 * Database.transaction means the same on both drivers: all of it commits, or none of it
 * does and the caller gets the failed statement's own error, whether the callback awaited
 * that statement or not (PostgreSQL answers a COMMIT after a failed statement with a
 * silent ROLLBACK; on PGlite the transaction then reported success).
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

  it('rolls back and throws the failed statement’s error', async () => {
    await clear()
    const attempt = t.db.transaction(async (tx) => {
      await tx.query(`insert into tx_probe values (1, 'kept?')`)
      await tx.query(`insert into tx_probe values (1, 'duplicate')`)
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

  it('a last statement carries the COMMIT: all of it is committed and its rows are returned', async () => {
    await clear()
    const result = await t.db.transaction(async (tx) => {
      await tx.query(`insert into tx_probe values (1, 'a')`)
      return tx.query<{ note: string }>(`insert into tx_probe values (2, 'b') returning note`, [], {
        last: true,
      })
    })
    expect(result).toEqual([{ note: 'b' }])
    expect(await notes()).toEqual(['a', 'b'])
  })

  it('a statement that failed before the last one rolls it all back, with that statement’s error', async () => {
    await clear()
    const attempt = t.db.transaction(async (tx) => {
      await tx.query(`insert into tx_probe values (1, 'first')`)
      void tx.query('select 1 / 0').catch(() => {})
      return tx.query(`insert into tx_probe values (2, 'last')`, [], { last: true })
    })
    await expect(attempt).rejects.toMatchObject({ code: '22012' })
    expect(await notes()).toEqual([])
  })

  it('refuses a statement sent after the last one', async () => {
    await clear()
    const attempt = t.db.transaction(async (tx) => {
      await tx.query(`insert into tx_probe values (1, 'last')`, [], { last: true })
      await tx.query(`insert into tx_probe values (2, 'after')`)
    })
    await expect(attempt).rejects.toThrow('a statement was sent after the last one of its transaction')
    expect(await notes()).not.toContain('after')
  })
})
