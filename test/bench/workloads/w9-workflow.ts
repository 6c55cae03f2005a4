import { withDatabase } from '../lib/database'
import type { WorkloadResult } from '../lib/report'
import { median } from '../lib/stats'
import { type Automation, type InProcess, type Prepared, prepare, startInProcess } from '../lib/switchyard'
import { assertSucceeded, makeChain, timeChain } from './w1-chain'

const REPS = Number(process.env.BENCH_W9_REPS ?? 5)
const WIDTH = 100
const SEQUENTIAL = 40

/** 1 root → WIDTH parallel NOOP steps → 1 join. */
async function fanWorkflow(p: Prepared): Promise<Automation> {
  const noop = await p.createAutomation({ name: 'fan step', kind: 'NOOP', config: {} })
  const middle = Array.from({ length: WIDTH }, (_, i) => `m${i}`)
  return p.createAutomation({
    name: 'fan',
    kind: 'WORKFLOW',
    config: {
      steps: [
        { name: 'root', automationId: noop.id },
        ...middle.map((name) => ({ name, automationId: noop.id })),
        { name: 'join', automationId: noop.id },
      ],
      edges: [
        ...middle.map((name) => ({ from: 'root', to: name })),
        ...middle.map((name) => ({ from: name, to: 'join' })),
      ],
    },
  })
}

/** `steps` steps of one automation in a line (step i+1 follows step i on success). */
async function lineWorkflow(p: Prepared, name: string, kind: string, config: unknown, steps: number) {
  const step = await p.createAutomation({ name: `${name} step`, kind, config })
  const names = Array.from({ length: steps }, (_, i) => `s${i}`)
  return p.createAutomation({
    name,
    kind: 'WORKFLOW',
    config: {
      steps: names.map((n) => ({ name: n, automationId: step.id })),
      edges: names.slice(1).map((n, i) => ({ from: names[i]!, to: n })),
    },
  })
}

async function timeMany(p: Prepared, node: InProcess, a: Automation) {
  await assertSucceeded(p, await timeChain(p, node, a)) // warm-up
  const out = []
  for (let i = 0; i < REPS; i++) {
    const t = await timeChain(p, node, a)
    await assertSucceeded(p, t)
    out.push(t)
  }
  return out
}

/** Per-step p50 and the statements the nodes sent per step, of one automation run in turns. */
interface Sequential {
  stepMs: number
  statements: number
  transactions: number
}

/**
 * The 40-step workflow and a 40-step CHAIN of the same NOOP steps, run in turns on the same
 * nodes (A B A B ..., after a warm-up of each), so "per step ≤ W1's" compares the two in
 * the same run and setup, with the machine's drift weighing on both alike.
 */
async function workflowAgainstChain(
  p: Prepared,
  nodes: readonly InProcess[],
  line: Automation,
  chain: Automation,
): Promise<{ workflow: Sequential; chain: Sequential }> {
  const timed = new Map(
    [line, chain].map((a) => [a, { stepMs: [] as number[], statements: 0, transactions: 0 }]),
  )
  const counted = () => ({
    statements: nodes.reduce((n, node) => n + node.counts.statements, 0),
    transactions: nodes.reduce((n, node) => n + node.counts.transactions, 0),
  })
  for (const a of timed.keys()) await assertSucceeded(p, await timeChain(p, nodes[0]!, a)) // warm-up
  for (let i = 0; i < REPS; i++) {
    for (const [a, into] of timed) {
      const before = counted()
      const t = await timeChain(p, nodes[0]!, a)
      const after = counted()
      await assertSucceeded(p, t)
      into.stepMs.push(...t.stepMs)
      into.statements += after.statements - before.statements
      into.transactions += after.transactions - before.transactions
    }
  }
  const summary = (a: Automation): Sequential => {
    const t = timed.get(a)!
    const steps = REPS * SEQUENTIAL
    return {
      stepMs: median(t.stepMs),
      statements: t.statements / steps,
      transactions: t.transactions / steps,
    }
  }
  return { workflow: summary(line), chain: summary(chain) }
}

const describeCounts = (name: string, s: Sequential) =>
  `${name} ${s.statements.toFixed(1)} statements in ${s.transactions.toFixed(1)} transactions`

const FIBO =
  'def fibo(n):\n    return n if n < 2 else fibo(n - 1) + fibo(n - 2)\n\nset_output("fibo", fibo(10))'

export async function w9(): Promise<WorkloadResult> {
  return withDatabase('w9', async ({ url }) => {
    const p = await prepare(url)
    // One worker first, as W1 runs its chain; then a second, as a second node would be. The
    // first also receives the bus events timed here.
    const nodes = [await startInProcess(p, { roles: 'worker', concurrency: 16 })]
    try {
      const line = await lineWorkflow(p, 'line', 'NOOP', {}, SEQUENTIAL)
      const chain = await makeChain(p, SEQUENTIAL, {}, 'NOOP', 'chain')
      const one = await workflowAgainstChain(p, nodes, line, chain)
      nodes.push(await startInProcess(p, { roles: 'worker', concurrency: 16 }))
      const two = await workflowAgainstChain(p, nodes, line, chain)
      const fan = await timeMany(p, nodes[0]!, await fanWorkflow(p))
      const py = await timeMany(
        p,
        nodes[0]!,
        await lineWorkflow(p, 'fibo', 'SCRIPT', { language: 'python', code: FIBO }, SEQUENTIAL),
      )
      const sequential = (workers: string, r: typeof one): WorkloadResult['figures'][number] => ({
        workload: 'W9',
        name: `${SEQUENTIAL} sequential steps, ${workers}, per step p50`,
        value: r.workflow.stepMs,
        unit: 'ms',
        better: 'lower',
        target: { text: `≤ chain's ${r.chain.stepMs.toFixed(2)} ms`, limit: r.chain.stepMs },
      })
      return {
        id: 'W9',
        title: `workflows: 1 → ${WIDTH} → 1 NOOP fan-out/fan-in, ${SEQUENTIAL} sequential NOOP steps against a ${SEQUENTIAL}-step CHAIN, and W10's ${SEQUENTIAL} sequential Python fibo(10) SCRIPT steps (median of ${REPS} after a warm-up)`,
        figures: [
          {
            workload: 'W9',
            name: `fan-out 1 → ${WIDTH} → 1, total`,
            value: median(fan.map((t) => t.totalMs)),
            unit: 'ms',
            better: 'lower',
            target: { text: '≤ 300 ms', limit: 300 },
          },
          sequential("1 worker (W1's setup)", one),
          sequential('2 workers', two),
          {
            workload: 'W10',
            name: `${SEQUENTIAL} sequential Python SCRIPT steps, total`,
            value: median(py.map((t) => t.totalMs)),
            unit: 'ms',
            better: 'lower',
            target: { text: '≤ 600 ms', limit: 600 },
          },
        ],
        against: [
          'Switchyard: in-process workers (concurrency 16 each) on one PostgreSQL; enqueue with engine.enqueue, total = enqueue → workflow SUCCEEDED on the bus; per step = started_at(step i+1) − started_at(step i).',
          `sequential: the workflow and a CHAIN of the same ${SEQUENTIAL} NOOP steps in turns, first on one worker (as W1), then on two; the fan-out and W10 on the two. Per step, 1 worker: ${describeCounts('workflow', one.workflow)}, ${describeCounts('chain', one.chain)}; 2 workers: ${describeCounts('workflow', two.workflow)}, ${describeCounts('chain', two.chain)} (BEGIN/COMMIT not counted).`,
          'W10 published on 2 vCPU (BENCHMARKS.md): Hatchet 1.22 s, Windmill dedicated 2.09 s, Temporal 2.97 s, Prefect 4.87 s, Airflow 116 s.',
        ],
      }
    } finally {
      for (const n of nodes) await n.stop()
      await p.close()
    }
  })
}
