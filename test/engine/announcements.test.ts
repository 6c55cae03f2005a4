import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Engine } from '../../server/src/engine/engine'
import type { NewRun } from '../../server/src/engine/types'
import { Channel, type RunEventTuple } from '../../server/src/events/channels'
import type { Context } from '../../server/src/graphql/context'
import { type TestDatabase, testDatabase } from '../helpers/db'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { automation, contextFor, engineFor } from '../triggers/helpers'

// A queued run and a claim announce themselves in the statement that makes the change
// (no transaction, no NOTIFY round trip): what they send must be what notifyRunChanges
// sends, in payloads PostgreSQL accepts (at most 8,000 bytes) however long the errors.
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

const epochMs = (d: Date | null) => (d === null ? null : d.getTime())

async function newRun(automationId: string): Promise<NewRun> {
  const [a] = await tdb.db.query<{ current_version_id: string; version: number }>(
    'select a.current_version_id, v.version from automations a join automation_versions v on v.id = a.current_version_id where a.id = $1',
    [automationId],
  )
  return {
    orgId: org.id,
    automationId,
    versionId: a!.current_version_id,
    version: a!.version,
    definition: await engine.definition(tdb.db, a!.current_version_id),
    triggerSource: 'API',
    triggeredBy: org.users.editor!.id,
    runAs: org.users.editor!.id,
    parameters: {},
  }
}

describe('run announcements sent by the statement that changes the runs', () => {
  it('queue and claim announce each run as it was, with a wake-up for queued work, in payloads under 8,000 bytes', async () => {
    const payloads: string[] = []
    let wakes = 0
    const offRun = await tdb.db.listen(Channel.RUN, (p) => payloads.push(p))
    const offWake = await tdb.db.listen(Channel.WAKE, () => wakes++)
    try {
      const id = await automation(ctx, { name: 'announced', kind: 'NOOP', config: {} })
      const template = await newRun(id)
      const queued: string[] = []
      for (let i = 0; i < 120; i++) queued.push((await engine.enqueue(template)).run.id)

      // The longest error an event carries, made of characters JSON escapes to six bytes.
      const error = '\u0001"'.repeat(400)
      await tdb.db.query('update runs set error = $2 where id = any($1::int8[])', [queued, error])
      const claims = await engine.claim({ workerId: 'w', limit: 100, leaseMs: 60_000 })
      expect(claims).toHaveLength(100)

      const deadline = Date.now() + 10_000
      const events = () => payloads.flatMap((p) => JSON.parse(p) as RunEventTuple[])
      while (events().filter((t) => t[3] === 'RUNNING').length < 100 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20))

      for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(8000)
      // Several payloads: long errors cannot fit 100 claims in one.
      expect(payloads.length).toBeGreaterThan(2)
      expect(wakes).toBeGreaterThanOrEqual(1)

      const rows = await tdb.db.query<{
        id: string
        org_id: string
        automation_id: string
        attempt: number
        started_at: Date | null
        finished_at: Date | null
      }>(
        'select id, org_id, automation_id, attempt, started_at, finished_at from runs where id = any($1::int8[])',
        [queued],
      )
      const byId = new Map(rows.map((r) => [r.id, r]))
      const queuedEvents = events().filter((t) => t[3] === 'QUEUED')
      expect(queuedEvents.map((t) => t[0]).sort()).toEqual([...queued].sort())
      for (const t of queuedEvents) {
        const r = byId.get(t[0])!
        expect(t).toEqual([r.id, org.id, id, 'QUEUED', null, r.attempt, null, null, null])
      }
      const running = events().filter((t) => t[3] === 'RUNNING')
      // Claimed in id order, announced in it.
      expect(running.map((t) => t[0])).toEqual(claims.map((c) => c.run.id))
      for (const t of running) {
        const r = byId.get(t[0])!
        expect(t).toEqual([
          r.id,
          org.id,
          id,
          'RUNNING',
          null,
          r.attempt,
          epochMs(r.started_at),
          null,
          error.slice(0, 500),
        ])
      }
    } finally {
      await offRun()
      await offWake()
    }
  })
})
