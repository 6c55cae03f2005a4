import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import postgres from 'postgres'
import { describe, expect, it } from 'vitest'
import { testDatabase } from '../helpers/db'

const testDir = fileURLToPath(new URL('..', import.meta.url))

/**
 * postgres.js 3.4.9 crashed the process with an uncaught
 * `TypeError: Cannot read properties of null (reading 'write')` when a query
 * was written on a connection whose backend had been terminated
 * (porsager/postgres#1208, #1154). The patch in patches/ settles such a write
 * as CONNECTION_CLOSED instead. The sequence runs in a child process, so a
 * crash shows as its exit code rather than taking the test runner down.
 */
const SCRIPT = `
import postgres from 'postgres'
const url = process.env.URL
const sql = postgres(url, { max: 2, onnotice: () => {} })
const killer = postgres(url, { max: 1, onnotice: () => {} })
const codes = []
for (let i = 0; i < 3; i++) {
  const reserved = await sql.reserve()
  const [{ pid }] = await reserved\`select pg_backend_pid() as pid\`
  await killer\`select pg_terminate_backend(\${pid})\`
  await new Promise((r) => setTimeout(r, 50))
  for (let j = 0; j < 2; j++) {
    // A write of more than 1 KiB goes to the socket at once, a smaller one on the next tick: both paths.
    const text = j === 0 ? 'select 1' : 'select ' + "'" + 'x'.repeat(2000) + "'"
    await reserved.unsafe(text).then(() => codes.push('ok'), (e) => codes.push(e.code ?? e.message))
  }
  reserved.release()
}
// The pool still works after all that.
const [{ n }] = await sql\`select 42 as n\`
console.log(JSON.stringify({ codes, n }))
await Promise.all([sql.end({ timeout: 1 }), killer.end({ timeout: 1 })])
`

describe('postgres.js survives a terminated backend', () => {
  it('a write on a terminated connection rejects with CONNECTION_CLOSED instead of crashing the process', async () => {
    const database = await testDatabase()
    try {
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', SCRIPT], {
        cwd: testDir,
        env: { PATH: process.env.PATH, URL: database.url },
        encoding: 'utf8',
        timeout: 30_000,
      })
      expect(child.stderr).not.toContain('TypeError')
      expect(child.status, child.stderr).toBe(0)
      const result = JSON.parse(child.stdout.trim().split('\n').pop()!)
      expect(result.n).toBe(42)
      // Every query on the dead connection settles: none hangs, none crashes.
      expect(result.codes).toHaveLength(6)
      for (const c of result.codes) expect(['ok', 'CONNECTION_CLOSED', 'CONNECTION_DESTROYED']).toContain(c)
    } finally {
      await database.drop()
    }
  })

  it('a transaction whose backend is terminated fails whole, and every pooled connection still works', async () => {
    // Database.transaction runs on a reserved connection with BEGIN pipelined (db/postgres.ts).
    const database = await testDatabase()
    const killer = postgres(database.url!, { max: 1, onnotice: () => {} })
    try {
      const { db } = database
      await db.query('create table tx_probe (id int primary key)')
      const attempt = db.transaction(async (tx) => {
        await tx.query('insert into tx_probe values (1)')
        const [row] = await tx.query<{ pid: number }>('select pg_backend_pid() as pid')
        await killer`select pg_terminate_backend(${row!.pid})`
        await new Promise((r) => setTimeout(r, 50))
        await tx.query('insert into tx_probe values (2)')
      })
      await expect(attempt).rejects.toThrow()
      expect(await db.query('select id from tx_probe')).toEqual([])
      // More transactions than the pool has connections: none is handed a dead one.
      const many = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          db.transaction((tx) => tx.query<{ n: number }>(`select ${i} as n`)),
        ),
      )
      expect(many.map((r) => r[0]!.n)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    } finally {
      await killer.end({ timeout: 1 })
      await database.drop()
    }
  })

  it('a reservation ends with its connection: a later statement is refused, not run on the reconnected session', async () => {
    // Unpatched, the pool reconnected the connection for the waiting query and the late
    // INSERT ran there in autocommit: row 1 rolled back with the dead session, row 2 kept.
    const database = await testDatabase()
    const sql = postgres(database.url!, { max: 1, onnotice: () => {} })
    const killer = postgres(database.url!, { max: 1, onnotice: () => {} })
    try {
      await sql`create table reserved_probe (id int)`
      const reserved = await sql.reserve()
      await reserved`begin`
      await reserved`insert into reserved_probe values (1)`
      const [row] = await reserved<{ pid: number }[]>`select pg_backend_pid() as pid`
      // Waits for the pool's only connection, which the reservation holds.
      const waiting = sql<{ n: number }[]>`select 42 as n`
      await killer`select pg_terminate_backend(${row!.pid})`
      expect((await waiting)[0]!.n).toBe(42)
      const late = await reserved`insert into reserved_probe values (2)`.then(
        () => 'ran',
        (e: { code?: string }) => e.code,
      )
      expect(late).toBe('CONNECTION_CLOSED')
      reserved.release()
      expect(await sql`select id from reserved_probe`).toEqual([])
      expect((await sql<{ n: number }[]>`select 1 as n`)[0]!.n).toBe(1)
    } finally {
      await Promise.all([sql.end({ timeout: 1 }), killer.end({ timeout: 1 })])
      await database.drop()
    }
  })
})
