// biome-ignore-all lint/suspicious/noTemplateCurlyInString: SQL and configs here hold Switchyard ${variables} on purpose
import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type DataFixture, dataFixture } from './helpers'

let f: DataFixture
let hook: { url: string; bodies: unknown[]; deliveries: string[]; status: number; server: Server }

const rowsOf = async (sql: string) => ((await f.sql(sql)).outputs as { rows: unknown[] }).rows
const METRICS = `query($t: String) { metrics(table: $t) { datasourceId table name value history { value } } }`
const CHECKS = `query($a: ID) { checks(automationId: $a) { name outcome value message blocking history { outcome } } }`

beforeAll(async () => {
  f = await dataFixture()
  await f.sql('create table events (id int, amount numeric, category text, at timestamptz)')
  await f.sql(`insert into events values (1, 10, 'a', now() - interval '2 hours'), (2, 45, 'b', now() - interval '1 hour'),
    (3, null, 'a', now() - interval '3 hours'), (4, 5, null, now() - interval '10 minutes')`)
  const bodies: unknown[] = []
  const deliveries: string[] = []
  const server = createServer((req, res) => {
    deliveries.push(String(req.headers['x-switchyard-delivery']))
    let body = ''
    req.on('data', (c) => {
      body += c
    })
    req.on('end', () => {
      bodies.push(JSON.parse(body))
      res.writeHead(hook.status).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  hook = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    bodies,
    deliveries,
    status: 200,
    server,
  }
})
afterAll(async () => {
  await f?.stop()
  await new Promise((r) => hook?.server.close(r))
})

const metricsConfig = {
  target: { table: 'events' },
  metrics: [
    { type: 'ROW_COUNT' },
    { type: 'MIN', column: 'amount' },
    { type: 'MAX', column: 'amount' },
    { type: 'AVG', column: 'amount' },
    { type: 'SUM', column: 'amount' },
    { type: 'NULL_COUNT', column: 'amount' },
    { type: 'DISTINCT_COUNT', column: 'category' },
    { type: 'FRESHNESS', column: 'at' },
    { type: 'MIN', column: 'at', name: 'first_event' },
    { type: 'SQL', name: 'big_events', sql: 'select count(*) from events where amount > ${limit}' },
  ],
}

describe('COMPUTE_METRICS', () => {
  it('computes every metric type and keeps history', async () => {
    const extra = { parameters: [{ name: 'limit', type: 'NUMBER', default: 20 }] }
    const run = await f.run('COMPUTE_METRICS', metricsConfig, extra)
    expect(run.error).toBeNull()
    const m = (run.outputs as { metrics: Record<string, number> }).metrics
    expect(m).toMatchObject({
      row_count: 4,
      min_amount: 5,
      max_amount: 45,
      avg_amount: 20,
      sum_amount: 60,
      null_count_amount: 1,
      distinct_count_category: 2,
      big_events: 1,
    })
    expect(m.freshness_at).toBeGreaterThan(590)
    expect(m.freshness_at).toBeLessThan(700)
    expect(m.first_event).toBeCloseTo(Date.now() / 1000 - 3 * 3600, -2)
    await f.sql("insert into events values (5, 100, 'c', now())")
    await f.run('COMPUTE_METRICS', { target: { table: 'events' }, metrics: [{ type: 'ROW_COUNT' }] })
    const d = await f.gql<{ metrics: { name: string; value: number; history: { value: number }[] }[] }>(
      METRICS,
      { t: 'events' },
      f.viewer,
    )
    const rc = d.metrics.find((x) => x.name === 'row_count')!
    expect(rc.value).toBe(5)
    expect(rc.history.map((h) => h.value)).toEqual([5, 4])
    expect(d.metrics).toHaveLength(10)
  })

  it('refuses a metric without its column or two with one name', async () => {
    const r = await f.s.gql<{ createAutomation: { __typename: string; issues: { path: string }[] } }>(
      `mutation($i: AutomationInput!) { createAutomation(input: $i) { __typename ... on ValidationError { issues { path } } } }`,
      {
        i: {
          name: 'bad-m',
          kind: 'COMPUTE_METRICS',
          config: { target: { table: 'events' }, metrics: [{ type: 'MAX' }] },
        },
      },
      { token: f.editor },
    )
    expect(r.data?.createAutomation.issues).toEqual([{ path: 'config.metrics.0.column' }])
    const twice = await f.s.gql<{ createAutomation: { __typename: string } }>(
      `mutation($i: AutomationInput!) { createAutomation(input: $i) { __typename } }`,
      {
        i: {
          name: 'bad-m2',
          kind: 'COMPUTE_METRICS',
          config: { target: { table: 'events' }, metrics: [{ type: 'ROW_COUNT' }, { type: 'ROW_COUNT' }] },
        },
      },
      { token: f.editor },
    )
    expect(twice.data?.createAutomation.__typename).toBe('ValidationError')
  })
})

describe('RUN_CHECKS', () => {
  const metric = (name: string) => ({ table: 'events', name })

  it('judges values with every rule, records outcomes, and fails on a blocking ERROR', async () => {
    const run = await f.run('RUN_CHECKS', {
      checks: [
        { name: 'has_rows', metric: metric('row_count'), rule: { type: 'MIN', min: 1 } },
        { name: 'amount_cap', metric: metric('max_amount'), rule: { type: 'MAX', max: 200, softMax: 40 } },
        { name: 'avg_range', metric: metric('avg_amount'), rule: { type: 'RANGE', min: 0, max: 100 } },
        {
          name: 'no_nulls',
          metric: metric('null_count_amount'),
          rule: { type: 'EQUALS', value: 0, onFail: 'WARNING' },
        },
        {
          name: 'growth',
          metric: metric('row_count'),
          rule: { type: 'CHANGE', maxPct: 10 },
          blocking: false,
        },
        {
          name: 'custom',
          sql: { query: "select case when count(*) > 0 then 'OK' else 'ERROR' end from events" },
          rule: { type: 'OUTCOME' },
        },
        {
          name: 'fresh',
          sql: { query: "select count(*) from events where at > now() - interval '1 day'" },
          rule: { type: 'MIN', min: 1 },
        },
      ],
    })
    expect(run.state).toBe('SUCCEEDED')
    const out = run.outputs as {
      summary: Record<string, number>
      checks: { name: string; outcome: string; message: string }[]
    }
    expect(Object.fromEntries(out.checks.map((c) => [c.name, c.outcome]))).toEqual({
      has_rows: 'OK',
      amount_cap: 'WARNING',
      avg_range: 'OK',
      no_nulls: 'WARNING',
      growth: 'ERROR',
      custom: 'OK',
      fresh: 'OK',
    })
    expect(out.checks.find((c) => c.name === 'growth')!.message).toBe('4 → 5 (+25%) changed more than 10%')
    expect(out.summary).toEqual({ OK: 4, WARNING: 2, ERROR: 1 })

    const blocking = await f.run('RUN_CHECKS', {
      checks: [
        { name: 'cap', metric: metric('max_amount'), rule: { type: 'MAX', max: 40 } },
        { name: 'missing', metric: metric('nope'), rule: { type: 'MIN', min: 0 }, blocking: false },
      ],
    })
    expect(blocking.state).toBe('FAILED')
    expect(blocking.error).toBe('1 blocking check(s) failed: cap ERROR (45 is above the maximum 40)')
    // A failed run still lists every check, not only the one that failed it.
    const failedOut = blocking.outputs as { summary: unknown; checks: { name: string; outcome: string }[] }
    expect(failedOut.checks.map((c) => [c.name, c.outcome])).toEqual([
      ['cap', 'ERROR'],
      ['missing', 'ERROR'],
    ])
    expect(failedOut.summary).toEqual({ OK: 0, WARNING: 0, ERROR: 2 })
    const d = await f.gql<{
      checks: { name: string; outcome: string; message: string; history: unknown[] }[]
    }>(CHECKS, {})
    const missing = d.checks.find((c) => c.name === 'missing')!
    expect(missing.outcome).toBe('ERROR')
    expect(missing.message).toMatch(/has no value yet/)
    expect(d.checks.map((c) => c.name).sort()).toEqual([
      'amount_cap',
      'avg_range',
      'cap',
      'custom',
      'fresh',
      'growth',
      'has_rows',
      'missing',
      'no_nulls',
    ])
  })

  it('fails on WARNING when configured, and keeps check history', async () => {
    const cfg = {
      failOn: 'WARNING',
      checks: [
        {
          name: 'soft',
          sql: { query: 'select max(amount) from events' },
          rule: { type: 'MAX', max: 1000, softMax: 60 },
        },
      ],
    }
    const run = await f.run('RUN_CHECKS', cfg)
    expect(run.state).toBe('FAILED')
    expect(run.error).toMatch(/soft WARNING \(100 is above the soft maximum 60\)/)
    const changedChecks = [
      {
        name: 'sum_change',
        sql: { query: 'select sum(amount) from events' },
        rule: { type: 'CHANGE', maxPct: 50, softMaxPct: 5 },
      },
    ]
    const id = await createAutomation(f.s, f.editor, {
      name: 'sum change',
      kind: 'RUN_CHECKS',
      config: { checks: changedChecks },
    })
    const changed = await waitForRun(f.s, f.editor, await runAutomation(f.s, f.editor, id))
    expect((changed.outputs as { checks: { message: string }[] }).checks[0]!.message).toMatch(
      /no previous value/,
    )
    // The second run of the same automation compares with the first: the sum has not moved.
    const again = await waitForRun(f.s, f.editor, await runAutomation(f.s, f.editor, id))
    const second = (again.outputs as { checks: { outcome: string; message: string }[] }).checks[0]!
    expect(second.outcome).toBe('OK')
    expect(second.message).not.toMatch(/no previous value/)
    const h = await f.gql<{ checks: { name: string; history: { outcome: string }[] }[] }>(CHECKS, { a: id })
    expect(h.checks.map((c) => c.name)).toEqual(['sum_change'])
    expect(h.checks[0]!.history.length).toBeGreaterThanOrEqual(2)
    expect(h.checks[0]!.history.every((x) => x.outcome === 'OK')).toBe(true)
  })
})

describe('ALARM', () => {
  it('notifies a webhook and writes a row to a storage when the threshold is crossed', async () => {
    const run = await f.run('ALARM', {
      source: { query: 'select count(*) from events where amount >= 45' },
      operator: '>=',
      threshold: 2,
      message: 'big events: ${value} (limit ${threshold})',
      reporters: [
        { type: 'WEBHOOK', url: hook.url, headers: { 'x-token': 'abc' } },
        { type: 'STORAGE', storage: 'alarms' },
      ],
    })
    expect(run.error).toBeNull()
    expect(run.outputs).toMatchObject({
      value: 2,
      triggered: true,
      notified: [`WEBHOOK ${hook.url}`, 'STORAGE alarms'],
    })
    expect(hook.bodies.at(-1)).toMatchObject({
      kind: 'ALARM',
      value: 2,
      threshold: 2,
      operator: '>=',
      message: 'big events: 2 (limit 2)',
      runId: run.id,
    })
    expect(await rowsOf('select message, value::int, run_id::text from alarms')).toEqual([
      { message: 'big events: 2 (limit 2)', value: 2, run_id: run.id },
    ])
  })

  it('stays quiet below the threshold', async () => {
    const before = hook.bodies.length
    const run = await f.run('ALARM', {
      source: { query: 'select max(amount) from events' },
      operator: '>',
      threshold: 1000,
      reporters: [{ type: 'WEBHOOK', url: hook.url }],
    })
    expect(run.outputs).toMatchObject({ value: 100, triggered: false, notified: [] })
    expect(hook.bodies.length).toBe(before)
  })

  it('fails, and retries per policy, when a reporter fails', async () => {
    hook.status = 500
    const before = hook.bodies.length
    const run = await f.run(
      'ALARM',
      {
        source: { query: 'select 1' },
        operator: '==',
        threshold: 1,
        reporters: [
          { type: 'WEBHOOK', url: hook.url },
          { type: 'STORAGE', storage: 'alarms' },
        ],
      },
      { retry: { maxAttempts: 2, backoffMs: 10 } },
    )
    hook.status = 200
    expect(run.state).toBe('FAILED')
    expect(run.attempt).toBe(2)
    expect(run.error).toBe(`1 of 2 reporter(s) failed: webhook ${hook.url}: HTTP 500 (sent: STORAGE alarms)`)
    expect(hook.bodies.length).toBe(before + 2)
    // Both attempts carry the run's delivery id, and the storage got one row, not one per attempt.
    expect(hook.deliveries.slice(-2)).toEqual([`run-${run.id}`, `run-${run.id}`])
    expect(await rowsOf(`select count(*)::int as n from alarms where run_id = ${Number(run.id)}`)).toEqual([
      { n: 1 },
    ])
  })

  it('with notifyOn CROSSING, notifies only when the threshold is crossed, not on every run past it', async () => {
    await f.sql('create table level (v int)')
    await f.sql('insert into level values (5)')
    const id = await createAutomation(f.s, f.editor, {
      name: 'level alarm',
      kind: 'ALARM',
      config: {
        source: { query: 'select max(v) from level' },
        operator: '>',
        threshold: 3,
        notifyOn: 'CROSSING',
        reporters: [{ type: 'WEBHOOK', url: hook.url }],
      },
    })
    const runOnce = async () => {
      const r = await waitForRun(f.s, f.editor, await runAutomation(f.s, f.editor, id))
      expect(r.state).toBe('SUCCEEDED')
      return r.outputs as { triggered: boolean; notified: string[] }
    }
    const before = hook.bodies.length
    expect(await runOnce()).toMatchObject({ triggered: true, notified: [`WEBHOOK ${hook.url}`] })
    // Still past the threshold: the condition holds, but nobody is told again.
    expect(await runOnce()).toMatchObject({ triggered: true, notified: [] })
    expect(hook.bodies.length).toBe(before + 1)
    await f.sql('update level set v = 1')
    expect(await runOnce()).toMatchObject({ triggered: false, notified: [] })
    await f.sql('update level set v = 9')
    expect(await runOnce()).toMatchObject({ triggered: true, notified: [`WEBHOOK ${hook.url}`] })
    expect(hook.bodies.length).toBe(before + 2)
  })
})
