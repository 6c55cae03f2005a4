import type { RunEvent } from '../../../server/src/events/channels'
import {
  describeGraphile,
  graphileRunner,
  graphileUtils,
  PGBOSS_VERSION,
  startBoss,
  stopBoss,
} from '../lib/competitors'
import { topShapes } from '../lib/counting'
import type { FreshDatabase } from '../lib/database'
import { type Contender, interleave } from '../lib/interleave'
import type { WorkloadResult } from '../lib/report'
import { median, now } from '../lib/stats'
import {
  type Automation,
  type InProcess,
  type Prepared,
  epochMs,
  prepare,
  startInProcess,
} from '../lib/switchyard'

const STEPS = 40
const REPS = Number(process.env.BENCH_W1_REPS ?? 7)
const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'SKIPPED'])

export interface ChainTiming {
  /** Client-seen: enqueue called → chain's final state event received. */
  totalMs: number
  /** Start of step i+1 minus start of step i. */
  stepMs: number[]
}

/** Creates `steps` automations of one kind (names prefixed) and a CHAIN of them. */
export async function makeChain(p: Prepared, steps: number, config: unknown, kind = 'NOOP', prefix = kind) {
  const children: Automation[] = []
  for (let i = 0; i < steps; i++) {
    children.push(await p.createAutomation({ name: `${prefix} step ${i}`, kind, config }))
  }
  return p.createAutomation({
    name: `${prefix} chain`,
    kind: 'CHAIN',
    config: { children: children.map((c) => c.id) },
  })
}

/** Enqueues the chain through engine.enqueue and waits for its final state on the event bus. */
export async function timeChain(
  p: Prepared,
  { app }: InProcess,
  chain: Automation,
  timeoutMs = 60_000,
): Promise<ChainTiming & { runId: string; state: string }> {
  const events: RunEvent[] = []
  let resolveDone: (e: RunEvent) => void = () => {}
  const done = new Promise<RunEvent>((r) => {
    resolveDone = r
  })
  let runId: string | undefined
  const off = app.services.bus.onRun(`automation:${chain.id}`, (e) => {
    events.push(e)
    if (runId && e.runId === runId && FINAL.has(e.state)) resolveDone(e)
  })
  const t0 = now()
  try {
    const { run } = await app.services.engine.enqueue(p.newRun(chain))
    runId = run.id
    // The final event may have arrived before enqueue returned (never for a chain, but be safe).
    const early = events.find((e) => e.runId === run.id && FINAL.has(e.state))
    if (early) resolveDone(early)
    let timer: NodeJS.Timeout | undefined
    const final = await Promise.race([
      done,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`chain ${run.id} did not finish in ${timeoutMs} ms`)),
          timeoutMs,
        )
      }),
    ]).finally(() => clearTimeout(timer))
    const totalMs = now() - t0
    const children = await p.db.query<{ started: number }>(
      `select ${epochMs('started_at')} as started from runs where parent_run_id = $1 order by step`,
      [run.id],
    )
    const stepMs: number[] = []
    for (let i = 1; i < children.length; i++) {
      stepMs.push(Number(children[i]!.started) - Number(children[i - 1]!.started))
    }
    return { totalMs, stepMs, runId: run.id, state: final.state }
  } finally {
    off()
  }
}

/** Throws with the stored errors when a chain did not succeed. */
export async function assertSucceeded(p: Prepared, t: { runId: string; state: string }): Promise<void> {
  if (t.state === 'SUCCEEDED') return
  const [row] = await p.db.query<{ error: string }>(
    "select coalesce(string_agg(error, '; '), '') as error from runs where id = $1 or parent_run_id = $1",
    [t.runId],
  )
  throw new Error(`chain ${t.runId} ended ${t.state}: ${row?.error}`)
}

let evidence = ''

async function switchyard({ url }: FreshDatabase): Promise<Contender<ChainTiming>> {
  const p = await prepare(url)
  const engine = await startInProcess(p, { roles: 'worker', concurrency: 16 })
  const chain = await makeChain(p, STEPS, {})
  let chains = -1 // the warm-up chain is not counted
  return {
    async once() {
      if (chains === 0) engine.resetCounts()
      const t = await timeChain(p, engine, chain)
      await assertSucceeded(p, t)
      chains++
      return t
    },
    async stop() {
      const steps = chains * STEPS
      const { statements, transactions } = engine.counts
      evidence = `per step the engine sent ${(statements / steps).toFixed(1)} statements in ${(transactions / steps).toFixed(1)} transactions (BEGIN/COMMIT not counted): ${topShapes(engine.counts, steps, 7).join('; ')}`
      await engine.stop()
      await p.close()
    },
  }
}

/** graphile-worker: each job adds the next from inside its handler; timed from the first add. */
async function graphile({ url }: FreshDatabase): Promise<Contender<ChainTiming>> {
  const utils = await graphileUtils(url)
  let onStep: (i: number) => void = () => {}
  const runner = await graphileRunner(
    url,
    {
      step: async (payload, helpers) => {
        const { i } = payload as { i: number }
        onStep(i)
        if (i + 1 < STEPS) await helpers.addJob('step', { i: i + 1 })
      },
    },
    { concurrency: 1 },
  )
  return {
    async once() {
      const starts: number[] = []
      const finished = new Promise<void>((resolve) => {
        onStep = (i) => {
          starts[i] = now()
          if (i === STEPS - 1) resolve()
        }
      })
      const t0 = now()
      await utils.addJob('step', { i: 0 })
      await finished
      return { totalMs: now() - t0, stepMs: starts.slice(1).map((s, i) => s - starts[i]!) }
    },
    async stop() {
      await runner.stop()
      await utils.release()
    },
  }
}

/** pg-boss: each job sends the next and wakes its worker with notifyWorker (else it polls every 0.5 s). */
async function pgboss({ url }: FreshDatabase): Promise<Contender<ChainTiming>> {
  const boss = await startBoss(url)
  await boss.createQueue('step')
  let onStep: (i: number) => void = () => {}
  let workerId = ''
  workerId = await boss.work<{ i: number }>(
    'step',
    { batchSize: 1, pollingIntervalSeconds: 0.5 },
    async ([job]) => {
      const i = job!.data.i
      onStep(i)
      if (i + 1 < STEPS) {
        await boss.send('step', { i: i + 1 })
        boss.notifyWorker(workerId)
      }
    },
  )
  return {
    async once() {
      const starts: number[] = []
      const finished = new Promise<void>((resolve) => {
        onStep = (i) => {
          starts[i] = now()
          if (i === STEPS - 1) resolve()
        }
      })
      const t0 = now()
      await boss.send('step', { i: 0 })
      boss.notifyWorker(workerId)
      await finished
      return { totalMs: now() - t0, stepMs: starts.slice(1).map((s, i) => s - starts[i]!) }
    },
    async stop() {
      await boss.offWork('step')
      await stopBoss(boss)
    },
  }
}

const summarise = (ts: ChainTiming[]) => ({
  total: median(ts.map((t) => t.totalMs)),
  step: median(ts.flatMap((t) => t.stepMs)),
})

export async function w1(): Promise<WorkloadResult> {
  const r = await interleave('w1', { switchyard, graphile, pgboss }, REPS)
  const sy = summarise(r.switchyard)
  const gw = summarise(r.graphile)
  const pb = summarise(r.pgboss)
  return {
    id: 'W1',
    title: `chain of ${STEPS} NOOP children through the full engine (median of ${REPS} chains per system, alternating, after a warm-up)`,
    figures: [
      {
        workload: 'W1',
        name: 'per-step p50 (start to next start)',
        value: sy.step,
        unit: 'ms',
        better: 'lower',
        // BENCHMARKS.md: per step at least graphile-worker's in the same run.
        target: { text: '≤ gw', limit: gw.step },
        graphile: { value: gw.step },
        pgboss: { value: pb.step },
      },
      {
        workload: 'W1',
        name: `total for ${STEPS} steps`,
        value: sy.total,
        unit: 'ms',
        better: 'lower',
        graphile: { value: gw.total },
        pgboss: { value: pb.total },
      },
    ],
    against: [
      `Switchyard: one in-process worker (concurrency 16) via startApp(roles=worker); chain enqueued with engine.enqueue, total = enqueue call → chain SUCCEEDED event on the bus; per step = started_at(step i+1) − started_at(step i) from the runs table (PostgreSQL now(), i.e. transaction start).`,
      `Switchyard ${evidence}`,
      `graphile-worker: ${describeGraphile({ concurrency: 1 })}; job i adds job i+1 with helpers.addJob; times taken in the handlers.`,
      `pg-boss ${PGBOSS_VERSION}: one work() worker, batchSize 1, pollingIntervalSeconds 0.5; job i sends job i+1 then notifyWorker (without it every step waits for the poll).`,
    ],
  }
}
