import { describe, expect, it } from 'vitest'
import { createAutomation, runAutomation } from '../helpers/automations'
import { workerFaultSuite } from '../helpers/fault-suite'
import { waitUntil } from '../helpers/processes'

// The workflow issue's fault scenario: 1 root → 100 parallel steps → 1 join, executed by
// two worker processes on a loaded machine, one killed -9 while the middle steps run.
const suite = workerFaultSuite()
const WIDTH = 100

describe('a fan-out/fan-in workflow while a worker dies', () => {
  it('decides every step exactly once and runs the join once: 1 → 100 → 1, 2 workers, kill -9, 3 repeats', {
    timeout: 600_000,
  }, async () => {
    const { s, token } = suite
    const ok = await createAutomation(s, token, { name: 'root', kind: 'NOOP', config: {} })
    const mid = await createAutomation(s, token, { name: 'mid', kind: 'NOOP', config: { sleepMs: 300 } })
    const join = await createAutomation(s, token, { name: 'join', kind: 'NOOP', config: { log: 'join ran' } })
    const middle = Array.from({ length: WIDTH }, (_, i) => `m${i}`)
    const id = await createAutomation(s, token, {
      name: 'fan',
      kind: 'WORKFLOW',
      config: {
        steps: [
          { name: 'root', automationId: ok },
          // A step lost with its worker is run again (its own retries), not failed.
          ...middle.map((name) => ({ name, automationId: mid, retries: 2 })),
          { name: 'join', automationId: join },
        ],
        edges: [
          ...middle.map((name) => ({ from: 'root', to: name })),
          ...middle.map((name) => ({ from: name, to: 'join' })),
        ],
      },
    })
    for (let repeat = 0; repeat < 3; repeat++) {
      const [doomed, survivor] = await Promise.all([suite.worker(), suite.worker()])
      suite.burn()
      const runId = await runAutomation(s, token, id)
      const ended = async (states: string[]) =>
        (
          await s.db.query<{ n: number }>(
            'select count(*)::int as n from runs where parent_run_id = $1 and state = any($2::text[])',
            [runId, states],
          )
        )[0]!.n
      await waitUntil(
        'a third of the middle steps to end',
        async () => (await ended(['SUCCEEDED'])) >= WIDTH / 3,
        120_000,
      )
      await doomed.kill9()
      await waitUntil(
        'the workflow to end',
        async () => {
          const [r] = await s.db.query<{ state: string }>('select state from runs where id = $1', [runId])
          return ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(r!.state)
        },
        120_000,
      )
      suite.stopBurning()

      const [wf] = await s.db.query<{ state: string; error: string | null }>(
        'select state, error from runs where id = $1',
        [runId],
      )
      expect(wf).toEqual({ state: 'SUCCEEDED', error: null })
      // One row per step: every step was decided once, by whichever node settled its last parent.
      const perStep = await s.db.query<{ step: number; n: number; state: string }>(
        `select step, count(*)::int as n, min(state) as state from runs where parent_run_id = $1 group by step order by step`,
        [runId],
      )
      expect(perStep.length).toBe(WIDTH + 2)
      expect(perStep.filter((p) => p.n !== 1 || p.state !== 'SUCCEEDED')).toEqual([])
      // The join executed once: one attempt, one "join ran" line.
      const [j] = await s.db.query<{ id: string; attempt: number }>(
        'select id, attempt from runs where parent_run_id = $1 and step = $2',
        [runId, WIDTH + 1],
      )
      expect(j!.attempt).toBe(1)
      const lines = await s.db.query('select 1 from run_logs where run_id = $1 and message like $2', [
        j!.id,
        'join ran%',
      ])
      expect(lines.length).toBe(1)
      // Steps were really lost with the killed worker and run again (else the kill proved nothing).
      const lost = await s.db.query(
        'select 1 from run_attempts a join runs r on r.id = a.run_id where r.parent_run_id = $1',
        [runId],
      )
      expect(lost.length).toBeGreaterThan(0)
      expect(survivor.child.exitCode).toBeNull()
      await survivor.stop()
    }
  })
})
