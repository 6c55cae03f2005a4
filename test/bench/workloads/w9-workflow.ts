import { withDatabase } from '../lib/database'
import type { WorkloadResult } from '../lib/report'
import { median } from '../lib/stats'
import { type Automation, type InProcess, type Prepared, prepare, startInProcess } from '../lib/switchyard'
import { assertSucceeded, timeChain } from './w1-chain'

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

const FIBO =
  'def fibo(n):\n    return n if n < 2 else fibo(n - 1) + fibo(n - 2)\n\nset_output("fibo", fibo(10))'

export async function w9(): Promise<WorkloadResult> {
  return withDatabase('w9', async ({ url }) => {
    const p = await prepare(url)
    // Two workers, as two nodes would be; the first also receives the bus events timed here.
    const nodes = [
      await startInProcess(p, { roles: 'worker', concurrency: 16 }),
      await startInProcess(p, { roles: 'worker', concurrency: 16 }),
    ]
    try {
      const fan = await timeMany(p, nodes[0]!, await fanWorkflow(p))
      const line = await timeMany(p, nodes[0]!, await lineWorkflow(p, 'line', 'NOOP', {}, SEQUENTIAL))
      const py = await timeMany(
        p,
        nodes[0]!,
        await lineWorkflow(p, 'fibo', 'SCRIPT', { language: 'python', code: FIBO }, SEQUENTIAL),
      )
      return {
        id: 'W9',
        title: `workflows: 1 → ${WIDTH} → 1 NOOP fan-out/fan-in, ${SEQUENTIAL} sequential NOOP steps, and W10's ${SEQUENTIAL} sequential Python fibo(10) SCRIPT steps (median of ${REPS} after a warm-up)`,
        figures: [
          {
            workload: 'W9',
            name: `fan-out 1 → ${WIDTH} → 1, total`,
            value: median(fan.map((t) => t.totalMs)),
            unit: 'ms',
            better: 'lower',
            target: { text: '≤ 300 ms', limit: 300 },
          },
          {
            workload: 'W9',
            name: `${SEQUENTIAL} sequential steps, per step p50`,
            value: median(line.flatMap((t) => t.stepMs)),
            unit: 'ms',
            better: 'lower',
            target: { text: "≤ W1's", limit: 2.5 },
          },
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
          'Switchyard: two in-process workers (concurrency 16 each) on one PostgreSQL; enqueue with engine.enqueue, total = enqueue → workflow SUCCEEDED on the bus; per step = started_at(step i+1) − started_at(step i).',
          'W10 published on 2 vCPU (BENCHMARKS.md): Hatchet 1.22 s, Windmill dedicated 2.09 s, Temporal 2.97 s, Prefect 4.87 s, Airflow 116 s.',
        ],
      }
    } finally {
      for (const n of nodes) await n.stop()
      await p.close()
    }
  })
}
