import { withDatabase } from '../lib/database'
import type { Figure, WorkloadResult } from '../lib/report'
import { median, sum } from '../lib/stats'
import { type InProcess, type Prepared, epochMs, prepare, startInProcess } from '../lib/switchyard'
import { assertSucceeded, makeChain, timeChain } from './w1-chain'

const STEPS = 10
const CPU_MS = 300
const REPS = Number(process.env.BENCH_W2_REPS ?? 3)

/** A script that keeps one core busy for CPU_MS of wall time, like a small transform would. */
const BUSY_SCRIPT = `const end = Date.now() + ${CPU_MS}; let x = 0; while (Date.now() < end) { x++ } setOutput('spins', x)`

interface Split {
  overhead: number
  /** Means per step, so that they add up to the overhead. */
  handoff: number
  inside: number
  edges: number
}

async function measure(p: Prepared, engine: InProcess, kind: string, config: unknown): Promise<Split> {
  const chain = await makeChain(p, STEPS, config, kind)
  await timeChain(p, engine, chain) // warm-up: the sandbox pool, esbuild, caches
  const splits: Split[] = []
  for (let i = 0; i < REPS; i++) {
    const t = await timeChain(p, engine, chain)
    await assertSucceeded(p, t)
    const rows = await p.db.query<{ started: number; finished: number }>(
      `select ${epochMs('started_at')} as started, ${epochMs('finished_at')} as finished
       from runs where parent_run_id = $1 order by step`,
      [t.runId],
    )
    const inside = rows.map((r) => Number(r.finished) - Number(r.started) - CPU_MS)
    const handoff = rows.slice(1).map((r, j) => Number(r.started) - Number(rows[j]!.finished))
    const overhead = t.totalMs - STEPS * CPU_MS
    splits.push({
      overhead: overhead / STEPS,
      handoff: sum(handoff) / STEPS,
      inside: sum(inside) / STEPS,
      edges: (overhead - sum(handoff) - sum(inside)) / STEPS,
    })
  }
  const pick = (k: keyof Split) => median(splits.map((s) => s[k]))
  return {
    overhead: pick('overhead'),
    handoff: pick('handoff'),
    inside: pick('inside'),
    edges: pick('edges'),
  }
}

const row = (name: string, value: number, target?: Figure['target']): Figure => ({
  workload: 'W2',
  name,
  value,
  unit: 'ms',
  better: 'lower',
  ...(target ? { target } : {}),
})

/**
 * W2: a chain of 10 SCRIPT steps, each busy for 300 ms in the sandbox. The
 * overhead is what the chain takes above 10 × 300 ms, per step, split into the
 * hand-off between steps, the cost inside a step (claim, sandbox, completion) and
 * the chain's own start and end. A control chain of NOOP steps sleeping 300 ms
 * shows what the same engine costs without the sandbox.
 */
export async function w2(): Promise<WorkloadResult> {
  return withDatabase('w2_sy', async ({ url }) => {
    const p = await prepare(url)
    const engine = await startInProcess(p, { roles: 'worker', concurrency: 16 })
    try {
      const cpu = await measure(p, engine, 'SCRIPT', { language: 'javascript', code: BUSY_SCRIPT })
      const sleep = await measure(p, engine, 'NOOP', { sleepMs: CPU_MS })
      return {
        id: 'W2',
        title: `chain of ${STEPS} SCRIPT steps busy ${CPU_MS} ms each (median of ${REPS} chains after a warm-up)`,
        figures: [
          row('overhead per step above the compute', cpu.overhead, { text: '≤ 5 ms', limit: 5 }),
          row('  hand-off between steps (mean/step)', cpu.handoff),
          row('  inside a step: claim+sandbox+complete', cpu.inside),
          row('  chain start and end (per step)', cpu.edges),
          row('control: NOOP sleeping 300 ms, overhead', sleep.overhead),
          row('  control hand-off between steps', sleep.handoff),
        ],
        against: [
          `Switchyard: one in-process worker (concurrency 16, sandbox pool warm=2) via startApp(roles=worker); each step is a SCRIPT (javascript) spinning on Date.now() for ${CPU_MS} ms in a sandbox process; overhead = (engine.enqueue → chain SUCCEEDED event − ${STEPS} × ${CPU_MS} ms) / ${STEPS}.`,
          'hand-off = started_at(step i+1) − finished_at(step i); inside = finished_at − started_at − 300 ms; start and end = the rest (chain claim, detach, first child; last child to the event); from the runs table, means per step of the median chain.',
          'control: the same chain with NOOP steps sleeping 300 ms (no sandbox, no CPU): the difference is what the sandbox costs.',
          'graphile-worker and pg-boss: not run (their handlers run in-process, there is no sandbox to compare with; W1 compares the hand-off).',
        ],
      }
    } finally {
      await engine.stop()
      await p.close()
    }
  })
}
