import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type DataFixture, dataFixture } from './helpers'

// Issue 17: history ids past 9 sorted as text ("9" after "10"), so "latest" was an
// older run and history was out of order. Twelve runs of each automation cross that line.
const RUNS = 12

let f: DataFixture
let metricsId: string
let checksId: string
const metricRuns: string[] = []
const checkRuns: string[] = []

interface Entry {
  id: string
  value: number
  runId: string
}

const METRIC = `query($first: Int, $before: ID) { metrics(table: "h") { name value runId
  history(first: $first, before: $before) { id value runId } } }`
const CHECK = `query($a: ID, $first: Int, $before: ID) { checks(automationId: $a) { name value outcome runId
  history(first: $first, before: $before) { id value outcome runId } } }`

async function runToEnd(id: string): Promise<string> {
  const run = await waitForRun(f.s, f.editor, await runAutomation(f.s, f.editor, id))
  expect(run.error).toBeNull()
  return run.id
}

/** Pages through a history `size` entries at a time with `before`, as a dashboard would. */
async function pages(fetch: (before: string | null) => Promise<Entry[]>): Promise<Entry[][]> {
  const out: Entry[][] = []
  let before: string | null = null
  for (;;) {
    const page = await fetch(before)
    if (page.length === 0) return out
    out.push(page)
    before = page.at(-1)!.id
  }
}

beforeAll(async () => {
  f = await dataFixture()
  await f.sql('create table h (x int)')
  metricsId = await createAutomation(f.s, f.editor, {
    name: 'h-metrics',
    kind: 'COMPUTE_METRICS',
    config: { target: { table: 'h' }, metrics: [{ type: 'ROW_COUNT' }] },
  })
  checksId = await createAutomation(f.s, f.editor, {
    name: 'h-checks',
    kind: 'RUN_CHECKS',
    config: {
      checks: [
        // Reads the latest metric value: the wrong "latest" showed here too.
        { name: 'from_metric', metric: { table: 'h', name: 'row_count' }, rule: { type: 'MIN', min: 1 } },
        // OK up to five rows, ERROR after: the latest outcome must be the newest run's.
        {
          name: 'small',
          sql: { query: 'select count(*) from h' },
          rule: { type: 'MAX', max: 5 },
          blocking: false,
        },
      ],
    },
  })
  for (let i = 1; i <= RUNS; i++) {
    await f.sql(`insert into h values (${i})`)
    metricRuns.push(await runToEnd(metricsId))
    checkRuns.push(await runToEnd(checksId))
  }
}, 180_000)
afterAll(() => f?.stop())

const newestFirst = (runs: string[]) => [...runs].reverse()
const counts = Array.from({ length: RUNS }, (_, i) => RUNS - i)

describe('metric history', () => {
  it('shows the newest run as the latest value and lists history newest first', async () => {
    const d = await f.gql<{ metrics: { name: string; value: number; runId: string; history: Entry[] }[] }>(
      METRIC,
      { first: 50 },
    )
    expect(d.metrics).toHaveLength(1)
    const m = d.metrics[0]!
    expect({ value: m.value, runId: m.runId }).toEqual({ value: RUNS, runId: metricRuns.at(-1) })
    expect(m.history.map((h) => h.value)).toEqual(counts)
    expect(m.history.map((h) => h.runId)).toEqual(newestFirst(metricRuns))
  })

  it('pages with before: every value once, in order, whatever the page size', async () => {
    const all = await pages(async (before) => {
      const d = await f.gql<{ metrics: { history: Entry[] }[] }>(METRIC, { first: 5, before })
      return d.metrics[0]!.history
    })
    expect(all.map((p) => p.length)).toEqual([5, 5, 2])
    expect(all.flat().map((h) => h.value)).toEqual(counts)
    const ids = all.flat().map((h) => BigInt(h.id))
    expect(ids.every((id, i) => i === 0 || id < ids[i - 1]!)).toBe(true)
  })

  it('refuses a cursor that is not an id', async () => {
    const r = await f.s.gql(METRIC, { first: 5, before: "1'; select 1" }, { token: f.editor })
    expect(JSON.stringify(r.errors)).toMatch(/before: must be the id of a history entry/)
  })
})

describe('check history', () => {
  it('shows the newest run as the latest outcome, reading the latest metric', async () => {
    const d = await f.gql<{
      checks: { name: string; value: number; outcome: string; runId: string; history: Entry[] }[]
    }>(CHECK, { a: checksId, first: 50 })
    const byName = Object.fromEntries(d.checks.map((c) => [c.name, c]))
    expect(byName.from_metric).toMatchObject({ value: RUNS, outcome: 'OK', runId: checkRuns.at(-1) })
    expect(byName.small).toMatchObject({ value: RUNS, outcome: 'ERROR', runId: checkRuns.at(-1) })
    expect(byName.from_metric!.history.map((h) => h.value)).toEqual(counts)
    expect(byName.small!.history.map((h) => h.runId)).toEqual(newestFirst(checkRuns))
  })

  it('pages with before: every result once, in order', async () => {
    const all = await pages(async (before) => {
      const d = await f.gql<{ checks: { name: string; history: Entry[] }[] }>(CHECK, {
        a: checksId,
        first: 4,
        before,
      })
      return d.checks.find((c) => c.name === 'small')!.history
    })
    expect(all.map((p) => p.length)).toEqual([4, 4, 4])
    expect(all.flat().map((h) => h.value)).toEqual(counts)
  })

  it('filters on the latest outcome only', async () => {
    const d = await f.gql<{ checks: { name: string }[] }>(
      `query($a: ID) { checks(automationId: $a, outcome: ERROR) { name } }`,
      { a: checksId },
    )
    expect(d.checks.map((c) => c.name)).toEqual(['small'])
  })
})
