import { describe, expect, it } from 'vitest'
import { createAutomation, runAutomation } from '../helpers/automations'
import { workerFaultSuite } from '../helpers/fault-suite'
import { waitUntil } from '../helpers/processes'

// The scenario of the engine v2 issue: two worker processes, 200 runs of a 100 ms SCRIPT,
// a 3 s lease, one worker killed -9 mid-way, on a machine kept busy by CPU burners. Before
// fencing, runs that had finished on the surviving worker were recovered and run again.
const suite = workerFaultSuite()
const RUNS = 200

interface Ended {
  id: string
  state: string
  attempt: number
  outputs: { attempt?: number } | null
  started_at: Date
}

describe('a worker killed while the other keeps finishing runs', () => {
  it('never starts a finished run again: 5 repeats, 2 workers, 200 runs, kill -9 mid-way', {
    timeout: 600_000,
  }, async () => {
    const { s, token } = suite
    const id = await createAutomation(s, token, {
      name: 'hundred ms',
      kind: 'SCRIPT',
      // The attempt is handed to scripts so they can be idempotent; here it proves whose outputs were kept.
      config: { code: 'await new Promise((r) => setTimeout(r, 100))\nreturn { attempt: run.attempt }' },
      retry: { maxAttempts: 3, backoffMs: 0 },
    })
    for (let repeat = 0; repeat < 5; repeat++) {
      const [doomed, survivor] = await Promise.all([suite.worker(), suite.worker()])
      // A loaded machine while the runs execute: a busy loop takes one of the two cores
      // (only this long, so other suites running beside this one keep theirs).
      suite.burn()
      const ids: string[] = []
      for (let i = 0; i < RUNS; i++) {
        ids.push(await runAutomation(s, token, id))
      }
      const done = () =>
        s.db.query<{ n: number }>(
          "select count(*)::int as n from runs where id = any($1::int8[]) and state in ('SUCCEEDED', 'FAILED')",
          [ids],
        )
      await waitUntil('a third of the runs to end', async () => (await done())[0]!.n >= RUNS / 3, 120_000)
      await doomed.kill9()
      const killedAt = Date.now()
      await waitUntil(
        `all ${RUNS} runs to end (repeat ${repeat + 1})`,
        async () => (await done())[0]!.n === RUNS,
        120_000,
      )
      suite.stopBurning()

      const runs = await s.db.query<Ended>(
        'select id, state, attempt, outputs, started_at from runs where id = any($1::int8[])',
        [ids],
      )
      expect(runs.filter((r) => r.state !== 'SUCCEEDED')).toEqual([])
      // Outputs come from the attempt the run ended with, never from an earlier one.
      expect(runs.filter((r) => r.outputs?.attempt !== r.attempt)).toEqual([])
      // Only runs the killed worker held were executed again, and only after it died.
      const superseded = await s.db.query<{ run_id: string; worker: string }>(
        'select run_id, worker from run_attempts where run_id = any($1::int8[])',
        [ids],
      )
      const notTheDead = superseded.filter((a) => !a.worker.includes(`:${doomed.pid}:`))
      expect(notTheDead).toEqual([])
      const again = runs.filter((r) => r.attempt > 1)
      expect(again.length).toBe(superseded.length)
      expect(again.filter((r) => r.started_at.getTime() < killedAt - 50)).toEqual([])
      expect(survivor.child.exitCode).toBeNull()
      await survivor.stop()
    }
  })
})
