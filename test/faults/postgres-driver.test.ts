import postgres from 'postgres'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
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
 * The patch behind QueryOptions.last (patches/postgres@3.4.9.patch): sql.commitNow() writes
 * COMMIT behind the statements already written, before their answers come back.
 */
describe('postgres.js commitNow', () => {
  it('writes COMMIT before the last statement has answered, and commits', async () => {
    const t = await testDatabase()
    if (!t.url) throw new Error('this suite runs on PostgreSQL only')
    const events: string[] = []
    const sql = postgres(t.url, {
      max: 1,
      onnotice: () => {},
      debug: (_connection: number, query: string) => events.push(`sent ${query}`),
    })
    try {
      await sql`create table commit_probe (id int)`
      const rows = await sql.begin(async (tx) => {
        const last = tx.unsafe('insert into commit_probe select 1 from pg_sleep(0.2) returning id')
        last.execute()
        ;(tx as unknown as { commitNow(): void }).commitNow()
        const answered = await last
        events.push('answered')
        return answered
      })
      expect(rows).toEqual([{ id: 1 }])
      const i = events.indexOf('sent commit')
      expect(i).toBeGreaterThan(0)
      expect(i).toBeLessThan(events.indexOf('answered'))
      expect(await sql`select id from commit_probe`).toEqual([{ id: 1 }])
    } finally {
      await sql.end({ timeout: 1 })
      await t.drop()
    }
  })
})
