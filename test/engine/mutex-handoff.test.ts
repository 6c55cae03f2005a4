import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Engine } from '../../server/src/engine/engine'
import type { Context } from '../../server/src/graphql/context'
import { Channel, type RunEventTuple } from '../../server/src/events/channels'
import { runAutomation as run } from '../../server/src/runs/service'
import { claimOne } from '../helpers/claims'
import { type TestDatabase, queueMismatches, testDatabase } from '../helpers/db'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { automation, contextFor, engineFor } from '../triggers/helpers'

// No worker here: the test queues, claims and completes through the engine itself. The race
// of a hand-off with an enqueue held open needs two sessions: scale-out/mutex-handoff-race.
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

describe('mutex hand-off', () => {
  it('a free mutex with waiters goes to its first waiter at the next enqueue, and those behind it are told they moved up', async () => {
    const id = await automation(ctx, { name: 'freed', kind: 'NOOP', config: {}, mutex: { name: 'freed' } })
    const holder = await run(ctx, id, {})
    const waiters: string[] = []
    for (let i = 0; i < 3; i++) waiters.push((await run(ctx, id, {})).id)
    // A holder that ended without handing the mutex on (here by hand, as an operator clearing
    // a stuck mutex would): the mutex is free and its waiters have no one to wake them.
    await tdb.db.transaction(async (tx) => {
      await tx.query("update runs set state = 'CANCELLED', finished_at = now() where id = $1", [holder.id])
      await tx.query('delete from run_queue where run_id = $1', [holder.id])
      await tx.query("update mutexes set holder_run_id = null where org_id = $1 and name = 'freed'", [org.id])
    })
    const payloads: string[] = []
    const off = await tdb.db.listen(Channel.RUN, (p) => payloads.push(p))
    try {
      const last = await run(ctx, id, {})
      const events = () => payloads.flatMap((p) => JSON.parse(p) as RunEventTuple[]).map((t) => [t[0], t[3]])
      const deadline = Date.now() + 10_000
      while (!events().some(([runId]) => runId === last.id) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20))
      // The first waiter holds the mutex; the other two moved up a place; the new run waits
      // last. One event each: the order is kept per run, not across runs (the moved-up ones
      // are announced by the hand-off statement, before the runs it hands to and queues).
      expect(events()).toHaveLength(4)
      expect(new Map(events() as [string, string][])).toEqual(
        new Map([
          [waiters[0], 'QUEUED'],
          [waiters[1], 'WAITING'],
          [waiters[2], 'WAITING'],
          [last.id, 'WAITING'],
        ]),
      )
      const [m] = await tdb.db.query<{ holder_run_id: string }>(
        "select holder_run_id from mutexes where org_id = $1 and name = 'freed'",
        [org.id],
      )
      expect(m!.holder_run_id).toBe(waiters[0])
      expect(await queueMismatches(tdb.db)).toEqual([])
    } finally {
      await off()
    }
  })
})
