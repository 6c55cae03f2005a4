import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { EmbeddedInstance } from '../../server/src/warehouse/embedded/instance'

/**
 * An embedded warehouse on disk: closed after its idle time (so a server with
 * many organizations keeps only the busy ones in memory), and its tables kept
 * across a close and across the termination that stops an overrunning statement.
 */
describe('an embedded warehouse worker', () => {
  const root = mkdtempSync(join(tmpdir(), 'sy-wh-instance-'))
  const dir = join(root, 'w')
  const open: EmbeddedInstance[] = []
  afterAll(async () => {
    for (const i of open) await i.close()
    rmSync(root, { recursive: true, force: true })
  })

  const start = (idleMs: number, onGone: () => void = () => {}) => {
    const i = new EmbeddedInstance(dir, idleMs, onGone)
    open.push(i)
    return i
  }
  const query = (i: EmbeddedInstance, text: string, timeoutMs = 30_000) =>
    i.exclusive(() => i.send({ op: 'query', text, params: [] }, timeoutMs))

  it('closes itself once idle, and keeps its tables on disk', { timeout: 120_000 }, async () => {
    let gone = false
    const first = start(500, () => {
      gone = true
    })
    await query(first, 'create table kept (id int)')
    await query(first, 'insert into kept values (1), (2)')
    expect(gone).toBe(false)
    const deadline = Date.now() + 20_000
    while (!gone && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    expect(gone).toBe(true)
    expect(first.alive).toBe(false)
    const again = start(0)
    expect((await query(again, 'select count(*)::int as n from kept'))?.rows).toEqual([{ n: 2 }])
    await again.close()
  })

  it('recovers its committed tables after a statement overran and the worker was terminated', {
    timeout: 120_000,
  }, async () => {
    const i = start(0)
    await query(i, 'insert into kept values (3)')
    await expect(query(i, 'select pg_sleep(30)', 1_000)).rejects.toThrow(/timeout of 1000 ms/)
    expect(i.alive).toBe(false)
    await expect(query(i, 'select 1')).rejects.toThrow(/stopped/)
    const reopened = start(0)
    expect((await query(reopened, 'select count(*)::int as n from kept'))?.rows).toEqual([{ n: 3 }])
  })
})
