import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { countingDatabase } from '../bench/lib/counting'
import { Channel } from '../../server/src/events/channels'
import { createAutomation } from '../helpers/automations'
import { testDatabase } from '../helpers/db'
import { waitUntil } from '../helpers/processes'
import { ADMIN_EMAIL, ADMIN_PASSWORD, type TestServer, startTestServer } from '../helpers/server'

// A claim of quick runs finishes together. Their slots belong to the claim of the batch that
// records their outcomes; the worker's loop used to claim for each wave of them as well, in a
// statement of its own while the batch committed: three claims per batch where one does.
const CONCURRENCY = 20
const RUNS = 400

let s: TestServer
let counts: ReturnType<typeof countingDatabase>

beforeAll(async () => {
  const database = await testDatabase()
  counts = countingDatabase(database.db)
  s = await startTestServer({
    database: { ...database, db: counts.db },
    env: { SWITCHYARD_WORKER_CONCURRENCY: String(CONCURRENCY) },
  })
})
afterAll(async () => {
  await s?.stop()
})

describe('claims under a backlog', () => {
  it('refills the slots of a finished batch with one claim', async () => {
    const token = await s.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    const id = await createAutomation(s, token, { name: 'quick', kind: 'NOOP', config: {} })
    const [a] = await s.db.query<{ org_id: string; current_version_id: string }>(
      'select org_id, current_version_id from automations where id = $1',
      [id],
    )
    counts.reset()
    // A backlog in one statement (as an outage leaves it); the wake-up makes the worker claim.
    await s.db.query(
      `insert into runs (org_id, automation_id, version_id, version, kind, state, trigger_source, parameters)
       select $1, $2, $3, 1, 'NOOP', 'QUEUED', 'API', '{}'::jsonb from generate_series(1, $4::int)`,
      [a!.org_id, id, a!.current_version_id, RUNS],
    )
    await s.db.query('select pg_notify($1, $2)', [Channel.WAKE, ''])
    await waitUntil('the backlog to be burnt down', async () => {
      const [r] = await s.db.query<{ n: number }>(
        `select count(*)::int as n from runs where automation_id = $1 and state = 'SUCCEEDED'`,
        [id],
      )
      return r!.n === RUNS
    })
    const claims = [...counts.counts.byShape]
      .filter(([shape]) => shape.startsWith("with c as ( select id from runs where state = 'QUEUED'"))
      .reduce((n, [, k]) => n + k, 0)
    // One claim per batch of CONCURRENCY, plus the first and a few for the end of the
    // backlog (a claim that finds fewer runs than slots, one that finds none).
    expect(claims).toBeGreaterThanOrEqual(RUNS / CONCURRENCY)
    expect(claims).toBeLessThanOrEqual(RUNS / CONCURRENCY + 5)
  }, 90_000)
})
