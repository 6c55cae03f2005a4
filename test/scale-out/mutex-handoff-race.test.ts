import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Engine } from '../../server/src/engine/engine'
import type { Context } from '../../server/src/graphql/context'
import { runAutomation as run } from '../../server/src/runs/service'
import { claimOne } from '../helpers/claims'
import { type TestDatabase, queueMismatches, testDatabase } from '../helpers/db'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { automation, contextFor, engineFor } from '../triggers/helpers'

// No worker here: the test claims and completes through the engine itself, so it can hold
// an enqueue open at the moment the mutex's holder finishes. That takes two sessions on
// one database, one waiting for the other's lock: a real PostgreSQL server (PGlite has one).
let tdb: TestDatabase
let org: TestOrg
let ctx: Context
let engine: Engine

beforeAll(async () => {
  tdb = await testDatabase()
  org = await createOrg(tdb.db)
  engine = engineFor(tdb.db)
  ctx = contextFor(tdb.db, org)
})
afterAll(() => tdb?.drop())

/** Resolves once some backend of the test database waits for a lock. */
async function someoneWaitsForALock(): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const [row] = await tdb.db.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
    )
    if (Number(row!.n) > 0) return
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error('the completion never waited for the mutex')
}

describe('mutex hand-off', () => {
  it('a run queued behind the mutex while its holder finishes gets the mutex, and is not left waiting', async () => {
    const id = await automation(ctx, {
      name: 'handoff',
      kind: 'NOOP',
      config: {},
      mutex: { name: 'handoff' },
    })
    const holder = await claimOne(engine, 'worker-a', (await run(ctx, id, {})).id)
    const r = holder.run
    const definition = await engine.definition(tdb.db, r.version_id)
    let commit!: () => void
    const committing = new Promise<void>((resolve) => {
      commit = resolve
    })
    let queued!: (run: { id: string; state: string }) => void
    const waiter = new Promise<{ id: string; state: string }>((resolve) => {
      queued = resolve
    })
    // The enqueue holds the mutex row until it commits, with its run WAITING behind the holder.
    const enqueuing = tdb.db.transaction(async (tx) => {
      const { run: next } = await engine.enqueueIn(tx, {
        orgId: r.org_id,
        automationId: r.automation_id,
        versionId: r.version_id,
        version: r.version,
        definition,
        triggerSource: 'MANUAL',
        triggeredBy: r.triggered_by,
        runAs: r.run_as,
        parameters: {},
      })
      queued(next)
      await committing
    })
    const next = await waiter
    expect(next.state).toBe('WAITING')
    // The holder finishes meanwhile: its hand-off must wait for the enqueue, then see its run.
    const completing = engine.complete([{ claim: holder, state: 'SUCCEEDED' }])
    await someoneWaitsForALock()
    commit()
    await enqueuing
    expect(await completing).toMatchObject({ applied: 1, rejected: 0 })
    const rows = await tdb.db.query<{ state: string; holder_run_id: string | null }>(
      `select r.state, m.holder_run_id from runs r join mutexes m on m.org_id = r.org_id and m.name = r.mutex_name
       where r.id = $1`,
      [next.id],
    )
    expect(rows).toEqual([{ state: 'QUEUED', holder_run_id: next.id }])
    expect(await queueMismatches(tdb.db)).toEqual([])
  })
})
