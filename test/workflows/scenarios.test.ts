import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, collect, startTestServer } from '../helpers/server'
import { createWorkflow, runWorkflow, statesOf, stepOf, workflowRun } from './helpers'

let s: TestServer
let org: TestOrg
let editor: string
let ok: string
let bad: string

beforeAll(async () => {
  s = await startTestServer()
  org = await createOrg(s.db)
  editor = await s.login(org.users.editor!.email, org.users.editor!.password)
  ok = await createAutomation(s, editor, { name: 'ok', kind: 'NOOP', config: {} })
  bad = await createAutomation(s, editor, { name: 'bad', kind: 'NOOP', config: { fail: 'check failed' } })
  // The warehouse opens on first use; open it before the SQL steps race for it.
  await runWorkflow(
    s,
    editor,
    await createWorkflow(s, editor, 'warm', { steps: [{ name: 'q', sql: { statement: 'select 1' } }] }),
  )
})
afterAll(() => s?.stop())

const RETRY = `mutation($id: ID!, $from: String) { retryRun(id: $id, fromStep: $from) {
  __typename ... on RetryRunSuccess { run { id attempt state } } ... on Error { message } } }`
const CANCEL = `mutation($id: ID!) { cancelRun(id: $id) { __typename ... on Error { message } } }`

describe('workflows as data teams build them', () => {
  it("Integrate.io's example: on-success and on-failure followers and an on-completion query", async () => {
    const flow = (task: string) => ({
      steps: [
        { name: 'load', automationId: task },
        { name: 'notify_ok', automationId: ok },
        { name: 'notify_failure', automationId: ok },
        { name: 'record', sql: { statement: "select 'recorded' as what" } },
      ],
      edges: [
        { from: 'load', to: 'notify_ok', condition: 'SUCCESS' },
        { from: 'load', to: 'notify_failure', condition: 'FAILURE' },
        { from: 'load', to: 'record', condition: 'COMPLETION' },
      ],
    })
    const good = await runWorkflow(s, editor, await createWorkflow(s, editor, 'io-good', flow(ok)))
    expect(good.state).toBe('SUCCEEDED')
    expect(statesOf(good)).toEqual({
      load: 'SUCCEEDED',
      notify_ok: 'SUCCEEDED',
      notify_failure: 'SKIPPED',
      record: 'SUCCEEDED',
    })
    expect(stepOf(good, 'notify_failure').skipCause).toBe('BRANCH_NOT_TAKEN')
    expect(stepOf(good, 'notify_failure').skipReason).toContain(
      'load SUCCEEDED (the edge runs on FAILURE only)',
    )
    expect(stepOf(good, 'record').outputs).toMatchObject({ rows: [{ what: 'recorded' }] })

    const failing = await runWorkflow(s, editor, await createWorkflow(s, editor, 'io-bad', flow(bad)))
    // The failure is handled by its FAILURE and COMPLETION edges: the workflow succeeds.
    expect(failing.state).toBe('SUCCEEDED')
    expect(statesOf(failing)).toEqual({
      load: 'FAILED',
      notify_ok: 'UPSTREAM_FAILED',
      notify_failure: 'SUCCEEDED',
      record: 'SUCCEEDED',
    })
    expect(stepOf(failing, 'notify_ok').skipReason).toBe('upstream failed: load FAILED')
  })

  it("Dataiku's example: a failing check that ignores failure, a build that runs only if the check succeeded", async () => {
    const flow = (check: string) => ({
      steps: [
        { name: 'purchase_amount_check', automationId: check, ignoreFailure: true },
        { name: 'build', automationId: ok, condition: 'stepOutcome_purchase_amount_check == "SUCCESS"' },
        { name: 'report', automationId: ok },
      ],
      edges: [
        { from: 'purchase_amount_check', to: 'build' },
        { from: 'purchase_amount_check', to: 'report' },
      ],
    })
    const warned = await runWorkflow(s, editor, await createWorkflow(s, editor, 'dku-warn', flow(bad)))
    expect(warned.state).toBe('SUCCEEDED')
    expect(statesOf(warned)).toEqual({
      purchase_amount_check: 'FAILED',
      build: 'SKIPPED',
      report: 'SUCCEEDED',
    })
    expect(stepOf(warned, 'purchase_amount_check').warning).toContain('ignored')
    expect(stepOf(warned, 'build').skipCause).toBe('CONDITION')
    expect(stepOf(warned, 'build').skipReason).toContain('condition is false')

    const passed = await runWorkflow(s, editor, await createWorkflow(s, editor, 'dku-pass', flow(ok)))
    expect(statesOf(passed)).toEqual({
      purchase_amount_check: 'SUCCEEDED',
      build: 'SUCCEEDED',
      report: 'SUCCEEDED',
    })
  })

  it("passes a SQL step's first value through a workflow variable, and outputs by reference", async () => {
    const id = await createWorkflow(s, editor, 'sql-value', {
      variables: [{ name: 'answer', default: 0 }],
      steps: [
        { name: 'first', sql: { statement: 'select 41 as answer' }, saveAs: { variable: 'answer' } },
        {
          name: 'second',
          sql: { statement: 'select ${n}::int + 1 as next, ${rows}::int as rows_before' },
          parameters: { n: '${variables.answer}', rows: '${steps.first.outputs.rowCount}' },
          condition: 'variables.answer == 41',
        },
      ],
      edges: [{ from: 'first', to: 'second' }],
    })
    const run = await runWorkflow(s, editor, id)
    expect(run.state, JSON.stringify(run)).toBe('SUCCEEDED')
    expect(stepOf(run, 'second').outputs).toMatchObject({ rows: [{ next: 42, rows_before: 1 }] })
    expect(run.outputs?.variables).toEqual({ answer: 41 })
  })

  it('fans out over 50 items, at most 5 at once, and the join waits for all of them', async () => {
    const each = await createAutomation(s, editor, {
      name: 'each',
      kind: 'NOOP',
      config: { sleepMs: 150 },
      parameters: [{ name: 'item', type: 'NUMBER' }],
    })
    const id = await createWorkflow(
      s,
      editor,
      'for-each',
      {
        steps: [
          {
            name: 'each',
            automationId: each,
            parameters: { item: '${item}' },
            forEach: { items: 'params.list', concurrency: 5 },
          },
          { name: 'after', automationId: ok },
        ],
        edges: [{ from: 'each', to: 'after' }],
      },
      { parameters: [{ name: 'list', type: 'JSON' }] },
    )
    const list = Array.from({ length: 50 }, (_, i) => i * 10)
    const run = await runWorkflow(s, editor, id, { list }, 120_000)
    expect(run.state).toBe('SUCCEEDED')
    const step = stepOf(run, 'each')
    expect(step.items).toBe(50)
    expect(step.runs.map((r) => r.parameters.item).sort((a, b) => Number(a) - Number(b))).toEqual(list)
    const rows = await s.db.query<{ started_at: Date; finished_at: Date }>(
      'select started_at, finished_at from runs where parent_run_id = $1 and step = 0',
      [run.id],
    )
    // The most runs of the step executing at one moment: at any start, count those started and not finished.
    const overlap = Math.max(
      ...rows.map(
        (r) => rows.filter((o) => o.started_at <= r.started_at && o.finished_at > r.started_at).length,
      ),
    )
    expect(overlap).toBeLessThanOrEqual(5)
    const lastItem = Math.max(...rows.map((r) => new Date(r.finished_at).getTime()))
    expect(new Date(stepOf(run, 'after').startedAt!).getTime()).toBeGreaterThanOrEqual(lastItem)
  })

  it('steps whose automation holds a mutex run one at a time, and the join runs once after them', async () => {
    // Each hand-off of the mutex moves a waiting sibling on inside the completion that moves
    // the workflow on: the workflow must decide from the children as they are after it.
    const guarded = await createAutomation(s, editor, {
      name: 'guarded',
      kind: 'NOOP',
      config: { sleepMs: 100 },
      mutex: { name: 'one-at-a-time' },
    })
    const branches = ['a', 'b', 'c', 'd']
    const id = await createWorkflow(s, editor, 'mutex-fan', {
      steps: [
        { name: 'root', automationId: ok },
        ...branches.map((name) => ({ name, automationId: guarded })),
        { name: 'join', automationId: ok },
      ],
      edges: [
        ...branches.map((to) => ({ from: 'root', to })),
        ...branches.map((from) => ({ from, to: 'join' })),
      ],
    })
    const run = await runWorkflow(s, editor, id)
    expect(run.state).toBe('SUCCEEDED')
    expect(statesOf(run)).toEqual({
      root: 'SUCCEEDED',
      a: 'SUCCEEDED',
      b: 'SUCCEEDED',
      c: 'SUCCEEDED',
      d: 'SUCCEEDED',
      join: 'SUCCEEDED',
    })
    const rows = await s.db.query<{ step: number; started_at: Date; finished_at: Date }>(
      'select step, started_at, finished_at from runs where parent_run_id = $1 order by started_at',
      [run.id],
    )
    expect(rows.filter((r) => r.step === 5)).toHaveLength(1) // the join, once
    const guardedRows = rows.filter((r) => r.step >= 1 && r.step <= 4)
    expect(guardedRows).toHaveLength(4)
    for (let i = 1; i < guardedRows.length; i++) {
      // One at a time: each starts after the one before it finished.
      expect(guardedRows[i]!.started_at.getTime()).toBeGreaterThanOrEqual(
        guardedRows[i - 1]!.finished_at.getTime(),
      )
    }
    const join = rows.find((r) => r.step === 5)!
    expect(join.started_at.getTime()).toBeGreaterThanOrEqual(guardedRows[3]!.finished_at.getTime())
  })

  it('cancel stops every running step and records the rest SKIPPED', async () => {
    const long = await createAutomation(s, editor, {
      name: 'long',
      kind: 'NOOP',
      config: { sleepMs: 60_000 },
    })
    const id = await createWorkflow(s, editor, 'cancel-me', {
      steps: [
        { name: 'a', automationId: long },
        { name: 'b', automationId: long },
        { name: 'after', automationId: ok, rule: 'ALL_DONE' },
      ],
      edges: [
        { from: 'a', to: 'after' },
        { from: 'b', to: 'after' },
      ],
    })
    const runId = await runAutomation(s, editor, id)
    const deadline = Date.now() + 20_000
    while (Date.now() < deadline) {
      const r = await workflowRun(s, editor, runId)
      if (stepOf(r, 'a').state === 'RUNNING' && stepOf(r, 'b').state === 'RUNNING') break
      await new Promise((res) => setTimeout(res, 100))
    }
    const c = await s.gql<{ cancelRun: { __typename: string } }>(CANCEL, { id: runId }, { token: editor })
    expect(c.data?.cancelRun.__typename).toBe('CancelRunSuccess')
    await waitForRun(s, editor, runId)
    const run = await workflowRun(s, editor, runId)
    expect(run.state).toBe('CANCELLED')
    expect(statesOf(run)).toEqual({ a: 'CANCELLED', b: 'CANCELLED', after: 'SKIPPED' })
    expect(stepOf(run, 'after').skipCause).toBe('CANCELLED')
  })

  it('reruns from the failed steps as the next attempt, reusing what succeeded; or from a chosen step', async () => {
    const flaky = await createAutomation(s, editor, {
      name: 'flaky',
      kind: 'NOOP',
      config: { fail: 'not yet' },
    })
    const id = await createWorkflow(s, editor, 'rerun', {
      steps: [
        { name: 'extract', automationId: ok },
        { name: 'transform', automationId: flaky },
        { name: 'publish', automationId: ok },
      ],
      edges: [
        { from: 'extract', to: 'transform' },
        { from: 'transform', to: 'publish' },
      ],
    })
    const first = await runWorkflow(s, editor, id)
    expect(first.state).toBe('FAILED')
    expect(first.error).toContain('transform')
    expect(statesOf(first)).toEqual({ extract: 'SUCCEEDED', transform: 'FAILED', publish: 'UPSTREAM_FAILED' })
    const extractRun = stepOf(first, 'extract').runs[0]!.id

    // The fix lands in the step's automation; the rerun runs its current version.
    const fix = await s.gql(
      `mutation($id: ID!, $i: AutomationInput!) { updateAutomation(id: $id, input: $i) { __typename } }`,
      { id: flaky, i: { name: 'flaky', kind: 'NOOP', config: {} } },
      { token: editor },
    )
    expect(JSON.stringify(fix)).toContain('UpdateAutomationSuccess')
    const r = await s.gql<{ retryRun: { run?: { id: string; attempt: number } } }>(
      RETRY,
      { id: first.id },
      { token: editor },
    )
    expect(r.data?.retryRun.run).toMatchObject({ id: first.id, attempt: 2 })
    await waitForRun(s, editor, first.id)
    const second = await workflowRun(s, editor, first.id)
    expect(second.state).toBe('SUCCEEDED')
    expect(second.attempt).toBe(2)
    expect(statesOf(second)).toEqual({ extract: 'SUCCEEDED', transform: 'SUCCEEDED', publish: 'SUCCEEDED' })
    // extract was not run again: the same run, its outputs reused.
    expect(stepOf(second, 'extract').runs.map((x) => x.id)).toEqual([extractRun])

    // From a chosen step: a FAILED run is needed, so fail publish and rerun from extract.
    const strict = await createWorkflow(s, editor, 'rerun-from', {
      steps: [
        { name: 'extract', automationId: ok },
        { name: 'publish', automationId: bad },
      ],
      edges: [{ from: 'extract', to: 'publish' }],
    })
    const failed = await runWorkflow(s, editor, strict)
    const before = stepOf(failed, 'extract').runs[0]!.id
    const again = await s.gql<{ retryRun: { run?: { attempt: number } } }>(
      RETRY,
      { id: failed.id, from: 'extract' },
      { token: editor },
    )
    expect(again.data?.retryRun.run?.attempt).toBe(2)
    await waitForRun(s, editor, failed.id)
    const rerun = await workflowRun(s, editor, failed.id)
    expect(stepOf(rerun, 'extract').runs[0]!.id).not.toBe(before)
    const unknown = await s.gql(RETRY, { id: failed.id, from: 'nope' }, { token: editor })
    expect(JSON.stringify(unknown)).toContain('no step \\"nope\\"')
  })

  it('streams every step change on runUpdated(runId) of the workflow run', async () => {
    // a waits a moment so the subscription (made once the run id is known) sees it start.
    const wait = await createAutomation(s, editor, { name: 'wait', kind: 'NOOP', config: { sleepMs: 800 } })
    const id = await createWorkflow(s, editor, 'live', {
      steps: [
        { name: 'a', automationId: wait },
        { name: 'b', automationId: ok },
      ],
      edges: [{ from: 'a', to: 'b' }],
    })
    const runId = await runAutomation(s, editor, id)
    const events = await collect<{ runUpdated: { id: string; state: string; parentRunId: string | null } }>(
      s.wsClient(editor),
      'subscription($id: ID!) { runUpdated(runId: $id) { id state parentRunId } }',
      { id: runId },
      (seen) => seen.some((e) => e.runUpdated.id === runId && e.runUpdated.state === 'SUCCEEDED'),
    )
    const children = new Set(
      events.filter((e) => e.runUpdated.parentRunId === runId).map((e) => e.runUpdated.id),
    )
    expect(children.size).toBe(2)
    for (const child of children) {
      const states = events.filter((e) => e.runUpdated.id === child).map((e) => e.runUpdated.state)
      expect(states.at(-1)).toBe('SUCCEEDED')
    }
  })
})
