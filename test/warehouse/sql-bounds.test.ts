import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { ADMIN_EMAIL, ADMIN_PASSWORD, type TestServer, startTestServer } from '../helpers/server'

/**
 * A SQL run can fail; the node cannot freeze or run out of memory (issue 11):
 * a statement past its timeout ends the run while /healthz keeps answering,
 * and a huge result fails on the result cap, with the node's RSS bounded.
 */
describe('SQL runs are bounded in time and memory', () => {
  let s: TestServer
  let token: string

  beforeAll(async () => {
    s = await startTestServer()
    token = await s.login(ADMIN_EMAIL, ADMIN_PASSWORD)
  })
  afterAll(async () => {
    await s?.stop()
  })

  /** Polls /healthz while `until` is pending; resolves with the number of answers received meanwhile. */
  const healthDuring = async (until: Promise<unknown>) => {
    let done = false
    void until.finally(() => {
      done = true
    })
    let answered = 0
    while (!done) {
      const res = await fetch(`${s.url}/healthz`, { signal: AbortSignal.timeout(5_000) })
      if (res.ok) answered++
      await new Promise((r) => setTimeout(r, 100))
    }
    return answered
  }

  let made = 0
  const runSql = async (statement: string, timeoutMs: number) => {
    const id = await createAutomation(s, token, {
      name: `${statement} #${++made}`,
      kind: 'SQL',
      config: { statement, timeoutMs },
    })
    return runAutomation(s, token, id)
  }

  /** Opens the organization's warehouse (a first use starts it, which is not what is measured). */
  const warmUp = async () => {
    const run = await waitForRun(s, token, await runSql('select 1', 60_000), undefined, 120_000)
    expect(run.state).toBe('SUCCEEDED')
  }

  it('pg_sleep(20) with timeoutMs 1000 fails within about the timeout while /healthz keeps answering', async () => {
    await warmUp()
    const runId = await runSql('select pg_sleep(20)', 1_000)
    await waitForRun(s, token, runId, ['RUNNING'])
    const started = Date.now()
    const finished = waitForRun(s, token, runId, undefined, 30_000)
    const answered = await healthDuring(finished)
    const run = await finished
    expect(['FAILED', 'TIMED_OUT']).toContain(run.state)
    expect(run.error).toMatch(/timeout/)
    expect(Date.now() - started).toBeLessThan(15_000)
    // Polled every 100 ms while the statement ran (over a second): a loop blocked by the
    // statement would have let through only the request in flight, and perhaps one more.
    expect(answered).toBeGreaterThanOrEqual(3)
  })

  it('a 6 GB result fails naming the cap, /healthz answers and RSS stays under 512 MB', async () => {
    // The timeout above stopped the embedded warehouse: reopen it before measuring.
    await warmUp()
    const baseline = process.memoryUsage().rss
    let peak = baseline
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss)
    }, 50)
    try {
      const runId = await runSql("select repeat('x', 1000000) from generate_series(1, 6000)", 300_000)
      const finished = waitForRun(s, token, runId, undefined, 120_000)
      const answered = await healthDuring(finished)
      const run = await finished
      expect(run.state).toBe('FAILED')
      expect(run.error).toMatch(/SWITCHYARD_MAX_RESULT_BYTES/)
      expect(answered).toBeGreaterThan(0)
    } finally {
      clearInterval(sampler)
    }
    console.info(
      `sql-bounds: RSS ${Math.round(baseline / 1_048_576)} MB before, peak ${Math.round(peak / 1_048_576)} MB`,
    )
    if (s.databaseUrl) expect(peak).toBeLessThan(512 * 1_048_576)
    // On PGlite the test process also holds the platform's PGlite and the warehouse's (each
    // a few hundred MB once used): what the result may add is what is bounded there.
    else expect(peak - baseline).toBeLessThan(512 * 1_048_576)
  })
})
