import postgres from 'postgres'
import {
  PGBOSS_VERSION,
  type GraphileOptions,
  describeGraphile,
  graphileRunner,
  graphileUtils,
  startBoss,
  stopBoss,
} from '../lib/competitors'
import { topShapes } from '../lib/counting'
import { withDatabase } from '../lib/database'
import type { WorkloadResult } from '../lib/report'
import { now } from '../lib/stats'
import {
  type Node,
  epochMs,
  prepare,
  queueNoopRuns,
  spawnNode,
  startInProcess,
  waitUntil,
} from '../lib/switchyard'

const RUNS = Number(process.env.BENCH_W3_RUNS ?? 100_000)
/** graphile-worker unbatched is slow by design: a smaller queue keeps the workload bounded. */
const UNBATCHED_RUNS = Number(process.env.BENCH_W3_UNBATCHED_RUNS ?? 5_000)
/** 0: workers inside the bench process; n: n worker processes (`main.ts --role worker`). */
const PROCS = Number(process.env.BENCH_W3_PROCS ?? 0)
const CONCURRENCY = Number(process.env.BENCH_W3_CONCURRENCY ?? 100)
const TIMEOUT_MS = 60_000

interface Burn {
  /** Runs per second from the first start to the last finish. */
  rate: number
  done: number
  note?: string
}

async function switchyard(): Promise<Burn & { evidence: string }> {
  return withDatabase('w3_sy', async ({ url }) => {
    const p = await prepare(url)
    try {
      const noop = await p.createAutomation({ name: 'noop', kind: 'NOOP', config: {} })
      // One statement, like a backlog left by an outage: 100,000 due runs of a no-op kind.
      await queueNoopRuns(p.db, p, noop, RUNS)
      await p.db.query('analyze runs')
      await p.db.query('analyze run_queue')
      // Both partial indexes (run_queue_claimable, run_queue_leased) answer this without a scan.
      const busy = async () => {
        const [r] = await p.db.query<{ busy: boolean }>(
          `select exists (select 1 from run_queue where state = 'QUEUED')
             or exists (select 1 from run_queue where state = 'RUNNING' and lease_owner is not null) as busy`,
        )
        return r!.busy
      }
      let evidence = ''
      if (PROCS === 0) {
        const engine = await startInProcess(p, { roles: 'worker', concurrency: CONCURRENCY, pool: 10 })
        try {
          await waitUntil('the burn-down', async () => !(await busy()), TIMEOUT_MS, 200).catch(() => {})
          const { statements, transactions } = engine.counts
          evidence = `${(statements / RUNS).toFixed(3)} statements and ${(transactions / RUNS).toFixed(3)} transactions per run: ${topShapes(engine.counts, RUNS, 6).join('; ')}`
        } finally {
          await engine.stop()
        }
      } else {
        const nodes: Node[] = []
        try {
          for (let i = 0; i < PROCS; i++) {
            nodes.push(await spawnNode(p, { roles: 'worker', concurrency: CONCURRENCY }))
          }
          await waitUntil('the burn-down', async () => !(await busy()), TIMEOUT_MS, 200).catch(() => {})
        } finally {
          await Promise.all(nodes.map((n) => n.stop()))
        }
      }
      const [r] = await p.db.query<{ done: number; first: number; last: number }>(
        `select count(*)::int as done, min(${epochMs('started_at')}) as first, max(${epochMs('finished_at')}) as last
         from runs where state = 'SUCCEEDED'`,
      )
      const done = Number(r!.done)
      return { rate: (done / (Number(r!.last) - Number(r!.first))) * 1000, done, evidence }
    } finally {
      await p.close()
    }
  })
}

async function graphile(o: GraphileOptions, count: number): Promise<Burn> {
  return withDatabase('w3_gw', async ({ url }) => {
    const utils = await graphileUtils(url)
    const sql = postgres(url, { max: 1, onnotice: () => {} })
    try {
      for (let i = 0; i < count; i += 5000) {
        const n = Math.min(5000, count - i)
        await utils.addJobs(Array.from({ length: n }, () => ({ identifier: 'noop', payload: {} })))
      }
      await sql`analyze graphile_worker._private_jobs`
      let first = 0
      let handled = 0
      const runner = await graphileRunner(
        url,
        {
          noop: async () => {
            if (handled++ === 0) first = now()
          },
        },
        o,
      )
      let last = 0
      try {
        await waitUntil(
          'the graphile burn-down',
          async () => {
            const [r] = await sql<
              { any: boolean }[]
            >`select exists (select 1 from graphile_worker._private_jobs) as any`
            last = now()
            return !r!.any
          },
          TIMEOUT_MS,
          50,
        ).catch(() => {})
      } finally {
        await runner.stop()
      }
      const [r] = await sql<{ n: number }[]>`select count(*)::int as n from graphile_worker._private_jobs`
      const done = count - Number(r!.n)
      return { rate: (done / (last - first)) * 1000, done }
    } finally {
      await sql.end()
      await utils.release()
    }
  })
}

const BOSS_WORKERS = 4
const BOSS_BATCH = 1000

async function pgboss(): Promise<Burn> {
  return withDatabase('w3_pgb', async ({ url }) => {
    const boss = await startBoss(url, 10)
    const sql = postgres(url, { max: 1, onnotice: () => {} })
    try {
      await boss.createQueue('noop')
      for (let i = 0; i < RUNS; i += 5000) {
        const n = Math.min(5000, RUNS - i)
        await boss.insert(Array.from({ length: n }, () => ({ name: 'noop', data: {} })))
      }
      await sql`analyze pgboss.job`
      for (let i = 0; i < BOSS_WORKERS; i++) {
        await boss.work('noop', { batchSize: BOSS_BATCH, pollingIntervalSeconds: 0.5 }, async () => {})
      }
      await waitUntil(
        'the pg-boss burn-down',
        async () => {
          const [r] = await sql<{ any: boolean }[]>`select exists (select 1 from pgboss.job
            where name = 'noop' and state < 'completed') as any`
          return !r!.any
        },
        TIMEOUT_MS,
        200,
      ).catch(() => {})
      await boss.offWork('noop')
      const [r] = await sql<{ done: number; first: number; last: number }[]>`
        select count(*)::int as done, min(extract(epoch from started_on) * 1000)::float8 as first,
          max(extract(epoch from completed_on) * 1000)::float8 as last
        from pgboss.job where name = 'noop' and state = 'completed'`
      const done = Number(r!.done)
      return { rate: (done / (Number(r!.last) - Number(r!.first))) * 1000, done }
    } finally {
      await sql.end()
      await stopBoss(boss)
    }
  })
}

export async function w3(): Promise<WorkloadResult> {
  const sy = await switchyard()
  // For A/B runs of two checkouts: the competitors take most of W3's time and do not change.
  const only = Boolean(process.env.BENCH_ONLY_SWITCHYARD)
  if (only) console.log(sy)
  const skipped: Burn = { rate: Number.NaN, done: Number.NaN }
  const batchedOpts: GraphileOptions = {
    concurrency: 16,
    batched: { localQueueSize: 500, completeJobBatchDelay: 0 },
  }
  const unbatchedOpts: GraphileOptions = { concurrency: 16 }
  const gwBatched = only ? skipped : await graphile(batchedOpts, RUNS)
  const gwPlain = only ? skipped : await graphile(unbatchedOpts, UNBATCHED_RUNS)
  const pb = only ? skipped : await pgboss()
  const how =
    PROCS === 0
      ? `one worker inside the bench process (startApp roles=worker), concurrency ${CONCURRENCY} (claim and completion batches up to 100)`
      : `${PROCS} worker processes (main.ts --role worker), concurrency ${CONCURRENCY} each`
  const partial = (b: Burn, n: number) =>
    b.done < n ? ` — only ${b.done} of ${n} done in ${TIMEOUT_MS / 1000} s` : ''
  return {
    id: 'W3',
    title: `burn-down of ${RUNS.toLocaleString('en')} queued no-op runs (one pass each)`,
    figures: [
      {
        workload: 'W3',
        name: 'burn-down throughput',
        value: sy.rate,
        unit: 'rate',
        better: 'higher',
        target: { text: '≥ gw batched', limit: gwBatched.rate },
        graphile: { value: gwBatched.rate, note: 'batched' },
        pgboss: { value: pb.rate, note: 'batched' },
      },
      {
        workload: 'W3',
        name: '  graphile-worker unbatched (reference)',
        value: Number.NaN,
        unit: 'rate',
        better: 'higher',
        graphile: { value: gwPlain.rate, note: `${UNBATCHED_RUNS / 1000}k jobs` },
      },
    ],
    against: [
      `Switchyard: ${RUNS} NOOP runs inserted QUEUED with one INSERT … SELECT generate_series, then ${how}; rate = runs / (max(finished_at) − min(started_at)) from the runs table${partial(sy, RUNS)}.`,
      `Switchyard ${sy.evidence}`,
      `graphile-worker batched: ${describeGraphile(batchedOpts)}; ${RUNS} jobs added with addJobs (5,000 per call) before the runner starts; rate = jobs / (first handler start → jobs table empty, polled every 50 ms)${partial(gwBatched, RUNS)}.`,
      `graphile-worker unbatched: ${describeGraphile(unbatchedOpts)}; ${UNBATCHED_RUNS} jobs, same method${partial(gwPlain, UNBATCHED_RUNS)}.`,
      `pg-boss ${PGBOSS_VERSION}: queue policy standard, ${RUNS} jobs via insert() (5,000 per call), ${BOSS_WORKERS} work() workers with batchSize ${BOSS_BATCH}, pollingIntervalSeconds 0.5; rate = jobs / (max(completed_on) − min(started_on))${partial(pb, RUNS)}.`,
    ],
  }
}
