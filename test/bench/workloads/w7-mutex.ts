import {
  PGBOSS_VERSION,
  type GraphileOptions,
  describeGraphile,
  graphileRunner,
  graphileUtils,
  startBoss,
  stopBoss,
} from '../lib/competitors'
import { withDatabase } from '../lib/database'
import type { WorkloadResult } from '../lib/report'
import { now, percentile } from '../lib/stats'
import { type Automation, type Node, epochMs, prepare, spawnNode, waitUntil } from '../lib/switchyard'

const RUNS = Number(process.env.BENCH_W7_RUNS ?? 500)
/** pg-boss hands a singleton queue on by polling (≥ 0.5 s): fewer jobs keep it bounded. */
const BOSS_RUNS = Number(process.env.BENCH_W7_BOSS_RUNS ?? 100)
const PROCESSES = 4
const AUTOMATIONS = 4
const SLEEP_MS = 1

/** One execution as seen by whoever ran it; `seq` is enqueue order. */
interface Span {
  seq: number
  start: number
  end: number
}

interface Verdict {
  overlaps: number
  outOfOrder: number
  done: number
  handoffP50: number
  handoffP99: number
  /** Largest overlap seen, in ms (0 if none). */
  worstOverlap: number
}

/** Overlap, FIFO and hand-off of executions that must have run one at a time in enqueue order. */
function judge(spans: Span[]): Verdict {
  const byStart = [...spans].sort((a, b) => a.start - b.start || a.seq - b.seq)
  let overlaps = 0
  let outOfOrder = 0
  let worstOverlap = 0
  const handoff: number[] = []
  for (let i = 1; i < byStart.length; i++) {
    const prev = byStart[i - 1]!
    const cur = byStart[i]!
    if (cur.start < prev.end) {
      overlaps++
      worstOverlap = Math.max(worstOverlap, prev.end - cur.start)
    }
    if (cur.seq < prev.seq) outOfOrder++
    handoff.push(cur.start - prev.end)
  }
  return {
    overlaps,
    outOfOrder,
    done: spans.length,
    handoffP50: percentile(handoff, 50),
    handoffP99: percentile(handoff, 99),
    worstOverlap,
  }
}

/** Runs of a second pass that log a line when they start executing, to check exclusion soundly. */
const VERIFY_RUNS = Number(process.env.BENCH_W7_VERIFY_RUNS ?? 200)

interface Checked {
  /** Pairs where the next run's logged execution start precedes the previous run's finished_at. */
  overlaps: number
  outOfOrder: number
  done: number
}

async function switchyard(): Promise<{ table: Verdict; checked: Checked }> {
  return withDatabase('w7_sy', async ({ url }) => {
    const p = await prepare(url)
    const nodes: Node[] = []
    const guarded = (name: string, config: unknown) =>
      p.createAutomation({ name, kind: 'NOOP', config, mutex: { name: 'shared', policy: 'QUEUE' } })
    const drain = () =>
      waitUntil(
        'the mutex queue to drain',
        async () => {
          const [r] = await p.db.query<{ n: number }>('select count(*)::int as n from run_queue')
          return Number(r!.n) === 0
        },
        120_000,
        250,
      ).catch(() => {})
    try {
      const plain: Automation[] = []
      const logging: Automation[] = []
      for (let i = 0; i < AUTOMATIONS; i++) {
        plain.push(await guarded(`guarded ${i}`, { sleepMs: SLEEP_MS }))
        logging.push(await guarded(`guarded+log ${i}`, { sleepMs: SLEEP_MS, log: 'start' }))
      }
      for (let i = 0; i < PROCESSES; i++) nodes.push(await spawnNode(p, { roles: 'worker', concurrency: 16 }))
      // Pass 1, measured: runs are added while the first ones already execute, as in real use.
      for (let i = 0; i < RUNS; i++) {
        await p.engine.enqueue(p.newRun(plain[i % AUTOMATIONS]!))
      }
      await drain()
      const rows = await p.db.query<{ id: string; state: string; start: number; end: number }>(
        `select id, state, ${epochMs('started_at')} as start, ${epochMs('finished_at')} as end
         from runs where started_at is not null and finished_at is not null order by id`,
      )
      const failed = rows.filter((r) => r.state !== 'SUCCEEDED').length
      if (failed > 0) throw new Error(`${failed} mutex runs did not succeed`)
      const table = judge(
        rows.map((r) => ({ seq: Number(r.id), start: Number(r.start), end: Number(r.end) })),
      )
      // Pass 2, checked: each run logs when it starts executing (a worker's clock, ms). The next
      // holder is promoted inside the previous one's completion transaction, so with a working
      // mutex its execution starts after that transaction's start, which is finished_at.
      const first = rows.length > 0 ? Number(rows[rows.length - 1]!.id) : 0
      for (let i = 0; i < VERIFY_RUNS; i++) {
        await p.engine.enqueue(p.newRun(logging[i % AUTOMATIONS]!))
      }
      await drain()
      const logged = await p.db.query<{ id: string; began: number; end: number }>(
        `select r.id, (select ${epochMs('min(l.at)')} from run_logs l where l.run_id = r.id) as began,
           ${epochMs('r.finished_at')} as end
         from runs r where r.id > $1 and r.state = 'SUCCEEDED' order by r.id`,
        [String(first)],
      )
      const byStart = [...logged].sort(
        (a, b) => Number(a.began) - Number(b.began) || Number(a.id) - Number(b.id),
      )
      let overlaps = 0
      let outOfOrder = 0
      for (let i = 1; i < byStart.length; i++) {
        const prev = byStart[i - 1]!
        const cur = byStart[i]!
        // The log time is a JavaScript Date (whole milliseconds): allow for the truncation.
        if (Number(cur.began) + 1 < Number(prev.end)) overlaps++
        if (Number(cur.id) < Number(prev.id)) outOfOrder++
      }
      return { table, checked: { overlaps, outOfOrder, done: logged.length } }
    } finally {
      await Promise.all(nodes.map((n) => n.stop()))
      await p.close()
    }
  })
}

const GRAPHILE: GraphileOptions = { concurrency: 4, pollInterval: 100 }

/** graphile-worker: one queueName serialises the jobs; four runners compete for them. */
async function graphile(): Promise<Verdict> {
  return withDatabase('w7_gw', async ({ url }) => {
    const utils = await graphileUtils(url)
    const spans: Span[] = []
    const runners = []
    try {
      const task = async (payload: unknown) => {
        const start = now()
        await new Promise((r) => setTimeout(r, SLEEP_MS))
        spans.push({ seq: (payload as { seq: number }).seq, start, end: now() })
      }
      for (let i = 0; i < PROCESSES; i++) runners.push(await graphileRunner(url, { guarded: task }, GRAPHILE))
      for (let i = 0; i < RUNS; i++) await utils.addJob('guarded', { seq: i }, { queueName: 'shared' })
      await waitUntil('the graphile queue to drain', async () => spans.length >= RUNS, 120_000, 50).catch(
        () => {},
      )
      return judge(spans)
    } finally {
      await Promise.all(runners.map((r) => r.stop()))
      await utils.release()
    }
  })
}

/** pg-boss: a queue with policy singleton lets one job be active at a time; four workers poll it. */
async function pgboss(): Promise<Verdict> {
  return withDatabase('w7_pgb', async ({ url }) => {
    const boss = await startBoss(url)
    const spans: Span[] = []
    try {
      await boss.createQueue('guarded', { name: 'guarded', policy: 'singleton' })
      for (let i = 0; i < PROCESSES; i++) {
        await boss.work<{ seq: number }>(
          'guarded',
          { batchSize: 1, pollingIntervalSeconds: 0.5 },
          async ([job]) => {
            const start = now()
            await new Promise((r) => setTimeout(r, SLEEP_MS))
            spans.push({ seq: job!.data.seq, start, end: now() })
          },
        )
      }
      for (let i = 0; i < BOSS_RUNS; i++) await boss.send('guarded', { seq: i })
      await waitUntil('the pg-boss queue to drain', async () => spans.length >= BOSS_RUNS, 120_000, 50).catch(
        () => {},
      )
      await boss.offWork('guarded')
      return judge(spans)
    } finally {
      await stopBoss(boss)
    }
  })
}

export async function w7(): Promise<WorkloadResult> {
  const { table: sy, checked } = await switchyard()
  const gw = await graphile()
  const pb = await pgboss()
  const line = (who: string, v: Verdict, n: number) =>
    `${who}: ${v.done}/${n} done, ${v.overlaps} overlaps${v.overlaps ? ` (largest ${v.worstOverlap.toFixed(2)} ms)` : ''}, ${v.outOfOrder} out of FIFO order, hand-off p99 ${v.handoffP99.toFixed(1)} ms`
  return {
    id: 'W7',
    title: `mutex: ${RUNS} runs of ${AUTOMATIONS} automations sharing one mutex, ${PROCESSES} worker processes`,
    figures: [
      {
        workload: 'W7',
        name: 'hand-off p50 (release → next start)',
        value: sy.handoffP50,
        unit: 'ms',
        better: 'lower',
        target: { text: '≤ 1.5 ms', limit: 1.5 },
        graphile: { value: gw.handoffP50, note: 'queueName' },
        pgboss: { value: pb.handoffP50, note: 'singleton' },
      },
      {
        workload: 'W7',
        name: 'overlaps in the runs table (must be 0)',
        value: sy.overlaps,
        unit: 'count',
        better: 'lower',
        target: { text: '0', limit: 0 },
        graphile: { value: gw.overlaps },
        pgboss: { value: pb.overlaps },
      },
      {
        workload: 'W7',
        name: '  overlaps, checked by execution log',
        value: checked.overlaps,
        unit: 'count',
        better: 'lower',
        target: { text: '0', limit: 0 },
      },
      {
        workload: 'W7',
        name: 'out of FIFO order (must be 0)',
        value: sy.outOfOrder,
        unit: 'count',
        better: 'lower',
        target: { text: '0', limit: 0 },
        graphile: { value: gw.outOfOrder },
        pgboss: { value: pb.outOfOrder },
      },
    ],
    against: [
      `Switchyard: ${PROCESSES} processes \`node --import tsx src/main.ts --role worker\` (concurrency 16 each); ${AUTOMATIONS} NOOP automations (sleepMs ${SLEEP_MS}) with mutex {name: shared, policy: QUEUE}; ${RUNS} runs enqueued round-robin one transaction each (engine enqueueRun) while the workers run; checked from the runs table: sorted by started_at, each start ≥ the previous finished_at (overlap) and ids ascending (FIFO); hand-off = started_at(next) − finished_at(previous) (PostgreSQL transaction times).`,
      line('Switchyard', sy, RUNS),
      'Caveat: started_at and finished_at are now(), the start of the claim or completion transaction; a claim transaction that began (BEGIN) before the previous holder’s completion transaction can claim the promoted run afterwards and still record an earlier started_at, so “overlaps” and swaps in the table need not be real.',
      `Checked pass: ${VERIFY_RUNS} more runs whose NOOP logs a line when it starts executing; sorted by that time, ${checked.overlaps} started before the previous run’s finished_at (real overlaps), ${checked.outOfOrder} out of FIFO order, ${checked.done}/${VERIFY_RUNS} succeeded.`,
      `graphile-worker: 4 runners in this process, ${describeGraphile(GRAPHILE)}; ${RUNS} jobs with queueName 'shared' added one by one; times taken in the handler (start, end after a ${SLEEP_MS} ms sleep). ${line('graphile-worker', gw, RUNS)}.`,
      `pg-boss ${PGBOSS_VERSION}: queue policy singleton, 4 work() workers (batchSize 1, pollingIntervalSeconds 0.5), ${BOSS_RUNS} jobs sent one by one (fewer: each hand-off waits for a poll); handler times. ${line('pg-boss', pb, BOSS_RUNS)}.`,
    ],
  }
}
