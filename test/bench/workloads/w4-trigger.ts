import {
  PGBOSS_VERSION,
  describeGraphile,
  graphileRunner,
  graphileUtils,
  startBoss,
  stopBoss,
} from '../lib/competitors'
import type { FreshDatabase } from '../lib/database'
import { type Contender, interleave } from '../lib/interleave'
import type { WorkloadResult } from '../lib/report'
import { now, percentile } from '../lib/stats'
import {
  type Automation,
  type InProcess,
  epochMs,
  gql,
  login,
  prepare,
  startInProcess,
} from '../lib/switchyard'

const RUNS = Number(process.env.BENCH_W4_RUNS ?? 1000)
const WARMUP = 20

const RUN = `mutation($id: ID!) { runAutomation(id: $id) {
  __typename ... on RunAutomationSuccess { run { id } } ... on Error { message } } }`

interface Latencies {
  p50: number
  p99: number
}
const summarise = (xs: number[]): Latencies => ({ p50: percentile(xs, 50), p99: percentile(xs, 99) })

/**
 * Watches the bus of an in-process app for RUNNING and final states of one
 * automation's runs, so a trigger can wait for "started" and then "done".
 */
function watcher(engine: InProcess, a: Automation) {
  const running = new Map<string, number>()
  const finished = new Set<string>()
  let wake: (() => void) | undefined
  const off = engine.app.services.bus.onRun(`automation:${a.id}`, (e) => {
    if (e.state === 'RUNNING' && !running.has(e.runId)) running.set(e.runId, now())
    if (e.state === 'SUCCEEDED' || e.state === 'FAILED') finished.add(e.runId)
    wake?.()
  })
  const until = async (check: () => boolean, what: string) => {
    const deadline = Date.now() + 10_000
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`no ${what} event within 10 s`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100)
        wake = () => {
          clearTimeout(t)
          resolve()
        }
      })
      wake = undefined
    }
  }
  return {
    /** Waits for the run's RUNNING event and its end; returns when RUNNING was seen. */
    async settle(runId: string): Promise<number> {
      await until(() => running.has(runId), `RUNNING for run ${runId}`)
      await until(() => finished.has(runId), `final state for run ${runId}`)
      return running.get(runId)!
    },
    off,
  }
}

const ROUNDS = 4
const PER_ROUND = Math.ceil(RUNS / ROUNDS)

/** Latencies of one round: (a) engine or queue API, (b) GraphQL over HTTP (Switchyard only). */
interface Round {
  a: number[]
  b?: number[]
}

let evidence = { table: { p50: Number.NaN, p99: Number.NaN }, perRequest: '' }

async function switchyard({ url }: FreshDatabase): Promise<Contender<Round>> {
  const p = await prepare(url)
  const engine = await startInProcess(p, { roles: 'api,worker', concurrency: 16 })
  const a = await p.createAutomation({ name: 'noop', kind: 'NOOP', config: {} })
  const w = watcher(engine, a)
  const base = engine.app.url!.replace('localhost', '127.0.0.1')
  const token = await login(base)
  const engineRuns: string[] = []
  const viaEngine = async () => {
    const t0 = now()
    const { run } = await engine.app.services.engine.enqueue(p.newRun(a))
    const seen = await w.settle(run.id)
    return { id: run.id, ms: seen - t0 }
  }
  const viaGraphql = async () => {
    const t0 = now()
    const r = await gql<{ runAutomation: { run?: { id: string }; message?: string } }>(
      base,
      RUN,
      { id: a.id },
      token,
    )
    const id = r.data?.runAutomation.run?.id
    if (!id) throw new Error(`runAutomation failed: ${JSON.stringify(r)}`)
    return (await w.settle(id)) - t0
  }
  for (let i = 0; i < WARMUP; i++) {
    await viaEngine()
    await viaGraphql()
  }
  return {
    async once() {
      const round: Round = { a: [], b: [] }
      for (let i = 0; i < PER_ROUND; i++) {
        const { id, ms } = await viaEngine()
        round.a.push(ms)
        engineRuns.push(id)
      }
      engine.resetCounts()
      for (let i = 0; i < PER_ROUND; i++) round.b!.push(await viaGraphql())
      evidence.perRequest = (engine.counts.statements / PER_ROUND).toFixed(1)
      return round
    },
    async stop() {
      const db = await p.db.query<{ ms: number }>(
        `select ${epochMs('started_at')} - ${epochMs('created_at')} as ms from runs where id = any($1::int8[])`,
        [engineRuns],
      )
      evidence = { ...evidence, table: summarise(db.map((r) => Number(r.ms))) }
      w.off()
      await engine.stop()
      await p.close()
    },
  }
}

async function graphile({ url }: FreshDatabase): Promise<Contender<Round>> {
  const utils = await graphileUtils(url)
  let started: (t: number) => void = () => {}
  let ended: () => void = () => {}
  const runner = await graphileRunner(
    url,
    {
      noop: async () => {
        started(now())
        queueMicrotask(() => ended())
      },
    },
    { concurrency: 16 },
  )
  const one = async () => {
    const seen = new Promise<number>((r) => {
      started = r
    })
    const done = new Promise<void>((r) => {
      ended = r
    })
    const t0 = now()
    await utils.addJob('noop', {})
    const t1 = await seen
    await done
    return t1 - t0
  }
  for (let i = 0; i < WARMUP; i++) await one()
  return {
    async once() {
      const a: number[] = []
      for (let i = 0; i < PER_ROUND; i++) a.push(await one())
      return { a }
    },
    async stop() {
      await runner.stop()
      await utils.release()
    },
  }
}

async function pgboss({ url }: FreshDatabase): Promise<Contender<Round>> {
  const boss = await startBoss(url)
  await boss.createQueue('noop')
  let started: (t: number) => void = () => {}
  const workerId = await boss.work('noop', { batchSize: 1, pollingIntervalSeconds: 0.5 }, async () => {
    started(now())
  })
  const one = async () => {
    const seen = new Promise<number>((r) => {
      started = r
    })
    const t0 = now()
    await boss.send('noop', {})
    boss.notifyWorker(workerId)
    return (await seen) - t0
  }
  for (let i = 0; i < WARMUP; i++) await one()
  return {
    async once() {
      const a: number[] = []
      for (let i = 0; i < PER_ROUND; i++) a.push(await one())
      return { a }
    },
    async stop() {
      await boss.offWork('noop')
      await stopBoss(boss)
    },
  }
}

export async function w4(): Promise<WorkloadResult> {
  const r = await interleave('w4', { switchyard, graphile, pgboss }, ROUNDS, 0)
  const sy = {
    engine: summarise(r.switchyard.flatMap((x) => x.a)),
    graphql: summarise(r.switchyard.flatMap((x) => x.b ?? [])),
    ...evidence,
  }
  const gw = summarise(r.graphile.flatMap((x) => x.a))
  const pb = summarise(r.pgboss.flatMap((x) => x.a))
  const fig = (
    name: string,
    value: number,
    target: { text: string; limit: number },
    g?: number,
    b?: number,
  ) => ({
    workload: 'W4',
    name,
    value,
    unit: 'ms' as const,
    better: 'lower' as const,
    target,
    ...(g !== undefined ? { graphile: { value: g } } : {}),
    ...(b !== undefined ? { pgboss: { value: b } } : {}),
  })
  return {
    id: 'W4',
    title: `trigger to start, ${PER_ROUND * ROUNDS} sequential runs per system on an idle worker, in ${ROUNDS} alternating rounds (after ${WARMUP} warm-up runs)`,
    figures: [
      fig('(a) engine.enqueue → RUNNING p50', sy.engine.p50, { text: '≤ gw', limit: gw.p50 }, gw.p50, pb.p50),
      fig('(a) engine.enqueue → RUNNING p99', sy.engine.p99, { text: '≤ 5 ms', limit: 5 }, gw.p99, pb.p99),
      fig('(b) GraphQL runAutomation → RUNNING p50', sy.graphql.p50, { text: '≤ 3 ms', limit: 3 }),
      fig('(b) GraphQL runAutomation → RUNNING p99', sy.graphql.p99, { text: '≤ 10 ms', limit: 10 }),
    ],
    against: [
      `Switchyard: one process with roles api,worker (startApp, concurrency 16); a NOOP run is triggered only when the previous one has finished; t0 before the call, t1 when this process's event bus delivers the run's RUNNING event (claim committed and NOTIFY received). In the runs table (a) started_at − created_at: p50 ${sy.table.p50.toFixed(2)} ms, p99 ${sy.table.p99.toFixed(2)} ms.`,
      `(b) POST /graphql with a bearer token over keep-alive fetch; the api sent ${sy.perRequest} statements per runAutomation+run (request, claim, completion).`,
      `graphile-worker: ${describeGraphile({ concurrency: 16 })}; WorkerUtils.addJob, t1 at handler start.`,
      `pg-boss ${PGBOSS_VERSION}: send() then notifyWorker(id) (its LISTEN-free worker would otherwise poll, 0.5 s at best), batchSize 1; t1 at handler start.`,
    ],
  }
}
