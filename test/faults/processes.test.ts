import postgres from 'postgres'
import { queueSyncOf } from '../../server/src/engine/run-queue'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, runAutomation, runWatched, waitForRun } from '../helpers/automations'
import { type TestDatabase, queueMismatches, testDatabase } from '../helpers/db'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type NodeProcess, killAllNodes, spawnNode, waitUntil } from '../helpers/processes'
import { type TestServer, startTestServer } from '../helpers/server'

// Several real processes against one PostgreSQL database: an api node in the
// test process, worker and scheduler nodes as child processes that we kill at bad moments.
let database: TestDatabase
let s: TestServer
let org: TestOrg
let token: string
const LEASE = { SWITCHYARD_LEASE_MS: '1500', SWITCHYARD_POLL_MS: '500' }

beforeAll(async () => {
  database = await testDatabase()
  s = await startTestServer({ database, env: { SWITCHYARD_ROLES: 'api' } })
  org = await createOrg(s.db)
  token = await s.login(org.users.editor!.email, org.users.editor!.password)
})
afterEach(async () => {
  await killAllNodes()
  expect(await queueMismatches(database.db)).toEqual([])
})
afterAll(async () => {
  await s?.stop()
  await database?.drop()
})

const worker = (env: Record<string, string> = {}) =>
  spawnNode({ databaseUrl: database.url!, role: 'worker', env: { ...LEASE, ...env } })

const executions = (runId: string) =>
  s.db.query<{ message: string }>(
    "select message from run_logs where run_id = $1 and message like 'exec%' order by id",
    [runId],
  )

describe('a worker killed mid-run', () => {
  it('is recovered: the run is retried on another worker, never running twice at once', async () => {
    const w1 = await worker()
    const id = await createAutomation(s, token, {
      name: 'survivor',
      kind: 'NOOP',
      config: { sleepMs: 3000, log: 'exec' },
      retry: { maxAttempts: 2, backoffMs: 0 },
    })
    const runId = await runAutomation(s, token, id)
    await waitForRun(s, token, runId, ['RUNNING'])
    await waitUntil('the first execution to log', async () => (await executions(runId)).length === 1)
    await w1.kill9()
    const killedAt = Date.now()
    const w2 = await worker()
    const run = await waitForRun(s, token, runId, ['SUCCEEDED', 'FAILED'], 60_000)
    expect(run.state).toBe('SUCCEEDED')
    expect(run.attempt).toBe(2)
    expect(Date.parse(run.startedAt!)).toBeGreaterThanOrEqual(killedAt - 50)
    const lines = (await executions(runId)).map((l) => l.message)
    expect(lines).toEqual([`exec (pid ${w1.pid})`, `exec (pid ${w2.pid})`])
  })

  it('fails the run with "worker lost" when no attempts remain, and frees its mutex for the next', async () => {
    const w1 = await worker()
    const id = await createAutomation(s, token, {
      name: 'doomed',
      kind: 'NOOP',
      config: { sleepMs: 3000, log: 'exec' },
      mutex: { name: 'doom' },
    })
    const first = await runAutomation(s, token, id)
    const second = await runAutomation(s, token, id)
    await waitForRun(s, token, first, ['RUNNING'])
    expect((await waitForRun(s, token, second, ['WAITING'])).position).toBe(1)
    await w1.kill9()
    await worker()
    const lost = await waitForRun(s, token, first, ['FAILED', 'SUCCEEDED'], 60_000)
    expect(lost.state).toBe('FAILED')
    expect(lost.error).toMatch(/worker lost/)
    expect((await waitForRun(s, token, second, undefined, 60_000)).state).toBe('SUCCEEDED')
  })
})

describe('three worker processes', () => {
  it('execute 2,000 runs exactly once each', { timeout: 180_000 }, async () => {
    const workers = await Promise.all([worker(), worker(), worker()])
    const id = await createAutomation(s, token, { name: 'bulk', kind: 'NOOP', config: { log: 'exec' } })
    const [a] = await s.db.query<{ current_version_id: string }>(
      'select current_version_id from automations where id = $1',
      [id],
    )
    await s.db.transaction(async (tx) => {
      await tx.query(
        `with inserted as (
           insert into runs (org_id, automation_id, version_id, version, kind, state, trigger_source, triggered_by, run_as)
           select $1, $2, $3, 1, 'NOOP', 'QUEUED', 'API', $4, $4 from generate_series(1, 2000)
           returning id, org_id, state, priority, run_at, mutex_name, lease_owner, lease_expires_at, deadline_at
         ), ${queueSyncOf('inserted')} select count(*) from inserted`,
        [org.id, id, a!.current_version_id, org.users.editor!.id],
      )
      await tx.query("select pg_notify('sy_wake', '')")
    })
    await waitUntil(
      'all 2,000 runs to finish',
      async () => {
        const [r] = await s.db.query<{ n: number }>(
          "select count(*)::int as n from runs where automation_id = $1 and state = 'SUCCEEDED'",
          [id],
        )
        return r!.n === 2000
      },
      120_000,
    )
    const [stats] = await s.db.query<{ runs: number; attempts: number; logs: number; multi: number }>(
      `select (select count(*)::int from runs where automation_id = $1) as runs,
              (select max(attempt)::int from runs where automation_id = $1) as attempts,
              (select count(*)::int from run_logs l join runs r on r.id = l.run_id where r.automation_id = $1) as logs,
              (select count(*)::int from (select run_id from run_logs l join runs r on r.id = l.run_id
                 where r.automation_id = $1 group by run_id having count(*) <> 1) x) as multi`,
      [id],
    )
    expect(stats).toEqual({ runs: 2000, attempts: 1, logs: 2000, multi: 0 })
    const pids = await s.db.query<{ pid: string }>(
      `select distinct substring(l.message from 'pid ([0-9]+)') as pid from run_logs l join runs r on r.id = l.run_id where r.automation_id = $1`,
      [id],
    )
    const known = new Set(workers.map((w) => String(w.pid)))
    expect(pids.every((p) => known.has(p.pid))).toBe(true)
    expect(pids.length).toBeGreaterThanOrEqual(2)
  })

  it('never let two runs hold one mutex, and serve waiters in FIFO order', { timeout: 120_000 }, async () => {
    await Promise.all([worker(), worker(), worker()])
    const ids = await Promise.all(
      [1, 2, 3, 4].map((n) =>
        createAutomation(s, token, {
          name: `shared-${n}`,
          kind: 'NOOP',
          config: { sleepMs: 5 },
          mutex: { name: 'one-at-a-time' },
        }),
      ),
    )
    const runIds: string[] = []
    for (let i = 0; i < 120; i++) runIds.push(await runAutomation(s, token, ids[i % 4]!))
    await waitUntil('120 mutex runs to finish', async () => {
      const [r] = await s.db.query<{ n: number }>(
        "select count(*)::int as n from runs where mutex_name = 'one-at-a-time' and state = 'SUCCEEDED'",
      )
      return r!.n === 120
    })
    const rows = await s.db.query<{ id: string; started_at: Date; finished_at: Date }>(
      "select id, started_at, finished_at from runs where mutex_name = 'one-at-a-time' order by started_at, id",
    )
    expect(rows.map((r) => r.id)).toEqual([...runIds].sort((x, y) => Number(x) - Number(y)))
    for (let i = 1; i < rows.length; i++) {
      expect(rows[i]!.started_at.getTime()).toBeGreaterThanOrEqual(rows[i - 1]!.finished_at.getTime())
    }
  })
})

describe('a worker with every slot busy', () => {
  it('still heartbeats and finishes its runs when new runs are announced meanwhile', async () => {
    // One slot: while it is taken, each new run's NOTIFY wakes a worker that cannot claim.
    const w = await worker({ SWITCHYARD_WORKER_CONCURRENCY: '1' })
    const id = await createAutomation(s, token, { name: 'one slot', kind: 'NOOP', config: { sleepMs: 400 } })
    const first = await runAutomation(s, token, id)
    await waitForRun(s, token, first, ['RUNNING'])
    const more: string[] = []
    for (let i = 0; i < 5; i++) more.push(await runAutomation(s, token, id))
    const ended = await Promise.all([first, ...more].map((r) => waitForRun(s, token, r, undefined, 30_000)))
    expect(ended.map((r) => r.state)).toEqual(Array(6).fill('SUCCEEDED'))
    // One at a time, each after the previous: the lease never lapsed, so nothing ran twice.
    expect(ended.every((r) => r.attempt === 1)).toBe(true)
    expect(w.child.exitCode).toBeNull()
  })
})

describe('the database connection dropped and restored', () => {
  it('nodes carry on without a restart', async () => {
    const workers: NodeProcess[] = await Promise.all([worker(), worker()])
    const id = await createAutomation(s, token, { name: 'resilient', kind: 'NOOP', config: { log: 'exec' } })
    expect((await waitForRun(s, token, await runAutomation(s, token, id))).state).toBe('SUCCEEDED')
    const admin = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} })
    const dbName = new URL(database.url!).pathname.slice(1)
    const killed = await admin.unsafe(
      'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [dbName],
    )
    await admin.end()
    expect(killed.length).toBeGreaterThan(2)
    // The api's own pool reconnects on the next query; workers and their LISTEN reconnect by themselves.
    const after: string[] = []
    for (let i = 0; i < 20; i++) {
      const runId = await runAutomation(s, token, id).catch(async () => {
        await new Promise((r) => setTimeout(r, 200))
        return runAutomation(s, token, id)
      })
      after.push(runId)
    }
    const finished = await Promise.all(after.map((r) => waitForRun(s, token, r, undefined, 60_000)))
    expect(finished.every((r) => r.state === 'SUCCEEDED')).toBe(true)
    expect(workers.every((w) => w.child.exitCode === null)).toBe(true)
  })
})

describe('live status across nodes', () => {
  it('a subscriber on the api node sees the states and log lines of a run executed by a worker process', async () => {
    const w = await worker()
    const id = await createAutomation(s, token, {
      name: 'watched elsewhere',
      kind: 'NOOP',
      config: { sleepMs: 300, log: 'exec' },
    })
    const { lines } = await runWatched(s, token, id, 1)
    // The line names the process that wrote it: the worker, not this api node.
    expect(lines).toEqual([`exec (pid ${w.pid})`])
    expect(w.pid).not.toBe(process.pid)
  })
})

const scheduler = () =>
  spawnNode({
    databaseUrl: database.url!,
    role: 'scheduler',
    env: { SWITCHYARD_SCHEDULER_LOOKAHEAD_MS: '0' },
  })
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

// No worker runs in this test: fired runs stay QUEUED, so it sees exactly what the schedulers did.
describe('CRON with scheduler processes killed and restarted', () => {
  it('fires every tick once: two schedulers, one killed -9, then none, then a new one catching up', async () => {
    const id = await createAutomation(s, token, { name: 'every second', kind: 'NOOP', config: {} })
    const created = await s.gql<{ createTrigger: { __typename: string } }>(
      `mutation($a: ID!, $i: TriggerInput!) { createTrigger(automationId: $a, input: $i) { __typename } }`,
      {
        a: id,
        i: { type: 'CRON', config: { cron: '* * * * * *', missedTickPolicy: 'ALL', overlapPolicy: 'ALLOW' } },
      },
      { token },
    )
    expect(created.data!.createTrigger.__typename).toBe('TriggerPayload')

    const a = await scheduler()
    const b = await scheduler()
    await pause(3_000)
    await a.kill9()
    await pause(3_000)
    await b.kill9()
    // Nobody schedules for a while: these ticks are missed, and ALL must fire each of them later.
    await pause(3_000)
    const c = await scheduler()
    await pause(3_000)
    await c.stop()

    const fires = await s.db.query<{ at: Date; n: number }>(
      `select f.scheduled_at as at, count(*)::int as n from trigger_fires f
         join triggers t on t.id = f.trigger_id where t.automation_id = $1
        group by f.scheduled_at order by f.scheduled_at`,
      [id],
    )
    const runs = await s.db.query<{ n: number }>(
      "select count(*)::int as n from runs where automation_id = $1 and trigger_source = 'SCHEDULE'",
      [id],
    )
    expect(fires.length).toBeGreaterThanOrEqual(10)
    // Exactly once: one fire and one run per tick.
    expect(fires.every((f) => f.n === 1)).toBe(true)
    expect(runs[0]!.n).toBe(fires.length)
    // None missing: consecutive seconds from the first tick to the last, the dead stretch included.
    const seconds = fires.map((f) => f.at.getTime() / 1000)
    expect(seconds.every((t, i) => i === 0 || t === seconds[i - 1]! + 1)).toBe(true)
    // The ticks of the dead stretch fired late, and an event says so with the automation
    // (one per scheduler pass, naming the ticks it covers).
    const late = await s.db.query<{ message: string }>(
      "select message from trigger_events where automation_id = $1 and kind = 'LATE'",
      [id],
    )
    expect(late.length).toBeGreaterThanOrEqual(1)
  })
})
