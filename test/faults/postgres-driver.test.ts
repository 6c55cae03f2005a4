import { spawnSync } from 'node:child_process'
import { Socket } from 'node:net'
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
})

/**
 * The patch also sends a plain BEGIN together with the transaction's first statement
 * instead of waiting for its answer alone: one round trip less for every transaction
 * (a chain step is one). What must not change: the statements run inside the transaction,
 * a rollback undoes them, and a BEGIN lost with its connection never lets a statement
 * behind it commit on its own.
 */
describe('postgres.js sends BEGIN with the first statement', () => {
  it('one socket write for BEGIN and the first statement, still one transaction', async () => {
    const database = await testDatabase()
    const sql = postgres(database.url!, { max: 1, onnotice: () => {} })
    try {
      await sql`create table t (n int)`
      // Writes to the socket while a one-statement transaction runs on an open connection.
      const write = Socket.prototype.write
      let writes = 0
      Socket.prototype.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
        writes++
        return write.apply(this, args)
      } as Socket['write']
      try {
        await sql.begin((tx) => tx`select 1`)
      } finally {
        Socket.prototype.write = write
      }
      expect(writes).toBe(2) // BEGIN + select, then COMMIT (unpatched: 3)
      // The first statement ran inside the transaction: SET LOCAL outside one has no effect.
      const [shown] = await sql.begin(async (tx) => {
        await tx`set local statement_timeout = 1234`
        return tx`show statement_timeout`
      })
      expect(shown!.statement_timeout).toBe('1234ms')
      await expect(
        sql.begin(async (tx) => {
          await tx`insert into t values (1)`
          throw new Error('changed my mind')
        }),
      ).rejects.toThrow('changed my mind')
      const [row] = await sql`select count(*)::int as n from t`
      expect(row!.n).toBe(0)
    } finally {
      await sql.end({ timeout: 1 })
      await database.drop()
    }
  })

  it('a BEGIN on a connection whose backend died commits nothing behind it', async () => {
    const database = await testDatabase()
    const sql = postgres(database.url!, {
      max: 1,
      onnotice: () => {},
      connection: { application_name: 'victim' },
    })
    const killer = postgres(database.url!, { max: 1, onnotice: () => {} })
    try {
      await killer`create table t (n int)`
      const outcomes: string[] = []
      for (let i = 1; i <= 5; i++) {
        // An open connection (the last one may have died with its backend), then its backend killed.
        await sql`select 1`.catch(() => sql`select 1`)
        await killer`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'victim'`
        // No pause: the pool may not have noticed yet, and BEGIN goes out on the dead socket.
        const ok = await sql
          .begin(async (tx) => {
            await tx`insert into t values (${i})`
            await tx`insert into t values (${-i})`
          })
          .then(
            () => true,
            () => false,
          )
        const rows = await killer`select n from t where n in (${i}, ${-i})`
        outcomes.push(`${ok}:${rows.length}`)
      }
      // All or nothing, each time: committed with both rows, or failed with neither.
      for (const o of outcomes) expect(['true:2', 'false:0']).toContain(o)
    } finally {
      await Promise.all([sql.end({ timeout: 1 }), killer.end({ timeout: 1 })])
      await database.drop()
    }
  })
})
