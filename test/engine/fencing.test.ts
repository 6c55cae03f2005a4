import { syncingQueue } from '../../server/src/engine/run-queue'
import { RUN_COLUMNS } from '../../server/src/engine/run-row'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Engine } from '../../server/src/engine/engine'
import { Channel } from '../../server/src/events/channels'
import type { Claim } from '../../server/src/engine/types'
import type { Context } from '../../server/src/graphql/context'
import { runAutomation as run } from '../../server/src/runs/service'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { claimOne as claimRun } from '../helpers/claims'
import { type TestDatabase, testDatabase } from '../helpers/db'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'
import { automation, contextFor, engineFor } from '../triggers/helpers'

// No worker here: the test plays the workers itself, through the engine, so it can
// stall one at the worst moment (after its kind returned, before its outcome committed).
let tdb: TestDatabase
let org: TestOrg
let ctx: Context
let engine: Engine

beforeAll(async () => {
  tdb = await testDatabase()
  org = await createOrg(tdb.db)
  engine = engineFor(tdb.db)
  ctx = contextFor(tdb.db, org)
})
afterAll(() => tdb?.drop())

/** Expires every lease now, as if the worker holding it had stopped heartbeating long ago. */
const expireLeases = () =>
  tdb.db.query(
    syncingQueue(
      `update runs set lease_expires_at = now() - interval '1 second' where state = 'RUNNING' returning ${RUN_COLUMNS}`,
    ),
  )

const attemptsOf = (runId: string) =>
  tdb.db.query<{ attempt: number; state: string; error: string | null; outputs: unknown }>(
    'select attempt, state, error, outputs from run_attempts where run_id = $1 order by attempt',
    [runId],
  )

const claimOne = (worker: string, runId: string) => claimRun(engine, worker, runId)

describe('fenced claims', () => {
  it('refuses the completion, heartbeat and log lines of a claim that was recovered and claimed again', async () => {
    const id = await automation(ctx, {
      name: 'fenced',
      kind: 'NOOP',
      config: {},
      retry: { maxAttempts: 3, backoffMs: 0 },
    })
    const runId = (await run(ctx, id, {})).id
    const stale = await claimOne('worker-a', runId)
    // worker-a stalls past its lease (a long flush, a paused process): the run is recovered...
    await expireLeases()
    expect((await engine.recover()).recovered).toBe(1)
    // ...and claimed again by worker-b: a new attempt with a new fencing token.
    const current = await claimOne('worker-b', runId)
    expect(current.run.attempt).toBe(2)
    expect(current.token).not.toBe(stale.token)

    // worker-a comes back with the outcome of attempt 1: refused, not applied.
    const before = engine.stats.rejectedCompletions
    const late = await engine.complete([{ claim: stale, state: 'SUCCEEDED', outputs: { from: 'attempt 1' } }])
    expect(late).toEqual({ applied: 0, rejected: 1, claims: [] })
    expect(engine.stats.rejectedCompletions).toBe(before + 1)
    expect((await engine.heartbeat([stale], 60_000)).size).toBe(0)
    expect((await engine.heartbeat([current], 60_000)).has(runId)).toBe(true)
    const [row] = await tdb.db.query<{ state: string; attempt: number }>(
      'select state, attempt from runs where id = $1',
      [runId],
    )
    expect(row).toEqual({ state: 'RUNNING', attempt: 2 })

    // worker-b's outcome is the one recorded; attempt 1 is kept with its own outcome.
    expect(
      await engine.complete([{ claim: current, state: 'SUCCEEDED', outputs: { from: 'attempt 2' } }]),
    ).toEqual({ applied: 1, rejected: 0, claims: [] })
    const [ended] = await tdb.db.query<{ state: string; outputs: unknown; attempt: number }>(
      'select state, outputs, attempt from runs where id = $1',
      [runId],
    )
    expect(ended).toEqual({ state: 'SUCCEEDED', outputs: { from: 'attempt 2' }, attempt: 2 })
    expect(await attemptsOf(runId)).toEqual([
      {
        attempt: 1,
        state: 'FAILED',
        error: expect.stringMatching(/worker lost \(worker-a\)/),
        outputs: null,
      },
    ])
  })

  it("keeps a mutex with its holder's current attempt when a superseded attempt's completion is refused", async () => {
    // A completion batch hands its runs' mutexes on with its first statements, before it
    // knows which of its outcomes are applied: a refused one must hand nothing on.
    const id = await automation(ctx, {
      name: 'fenced mutex',
      kind: 'NOOP',
      config: {},
      retry: { maxAttempts: 3, backoffMs: 0 },
      mutex: { name: 'fenced' },
    })
    const holderId = (await run(ctx, id, {})).id
    const waiterId = (await run(ctx, id, {})).id
    const stale = await claimOne('worker-a', holderId)
    await expireLeases()
    expect((await engine.recover()).recovered).toBe(1)
    const current = await claimOne('worker-b', holderId)
    const late = await engine.complete([{ claim: stale, state: 'SUCCEEDED' }], {
      workerId: 'worker-a',
      limit: 5,
      leaseMs: 60_000,
    })
    expect(late).toEqual({ applied: 0, rejected: 1, claims: [] })
    const states = () =>
      tdb.db.query<{ id: string; state: string }>(
        'select id::text, state from runs where id = any($1::int8[]) order by id',
        [[holderId, waiterId]],
      )
    const holder = () =>
      tdb.db.query<{ holder: string | null }>(
        "select holder_run_id::text as holder from mutexes where org_id = $1 and name = 'fenced'",
        [org.id],
      )
    expect(await states()).toEqual([
      { id: holderId, state: 'RUNNING' },
      { id: waiterId, state: 'WAITING' },
    ])
    expect(await holder()).toEqual([{ holder: holderId }])
    // The current attempt's completion hands the mutex on.
    await engine.complete([{ claim: current, state: 'SUCCEEDED' }])
    expect(await states()).toEqual([
      { id: holderId, state: 'SUCCEEDED' },
      { id: waiterId, state: 'QUEUED' },
    ])
    expect(await holder()).toEqual([{ holder: waiterId }])
  })

  it("claims a worker's next runs with its completion: the chain step it queued starts without a claim of its own", async () => {
    const step = await automation(ctx, { name: 'next step', kind: 'NOOP', config: {} })
    const chain = await automation(ctx, {
      name: 'claimed along',
      kind: 'CHAIN',
      config: { children: [step, step] },
    })
    const runId = (await run(ctx, chain, {})).id
    const next = { workerId: 'worker-c', limit: 5, leaseMs: 60_000 }
    const ours = (claims: Claim[]) =>
      claims
        .filter((c) => c.run.parent_run_id === runId)
        .map((c) => [c.run.step, c.run.state, c.run.lease_owner])

    // The chain gives up its slot; its first step, queued in that transaction, is claimed in it.
    const released = await engine.complete(
      [{ claim: await claimOne('worker-c', runId), orchestrate: true }],
      next,
    )
    expect(released.applied).toBe(1)
    expect(ours(released.claims)).toEqual([[0, 'RUNNING', 'worker-c']])
    const first = released.claims.find((c) => c.run.parent_run_id === runId)!
    expect(first.token).toBe(first.run.claim_token)

    const second = await engine.complete([{ claim: first, state: 'SUCCEEDED' }], next)
    expect(ours(second.claims)).toEqual([[1, 'RUNNING', 'worker-c']])
    // Without `next` nothing is claimed; the chain ends with its last step.
    const last = await engine.complete([
      { claim: second.claims.find((c) => c.run.step === 1)!, state: 'SUCCEEDED' },
    ])
    expect(last.claims).toEqual([])
    const [ended] = await tdb.db.query<{ state: string }>('select state from runs where id = $1', [runId])
    expect(ended?.state).toBe('SUCCEEDED')
  })

  it('wakes the workers only for runs a completion queued and left unclaimed', async () => {
    const step = await automation(ctx, { name: 'wake step', kind: 'NOOP', config: {} })
    const chain = await automation(ctx, { name: 'wakes', kind: 'CHAIN', config: { children: [step, step] } })
    const payloads: string[] = []
    const unlisten = await tdb.db.listen(Channel.WAKE, (p) => payloads.push(p))
    // Wake-ups that went out before a marker sent afterwards: NOTIFYs arrive in commit order.
    const wakesUntilMarker = async (marker: string) => {
      await tdb.db.query('select pg_notify($1, $2)', [Channel.WAKE, marker])
      while (!payloads.includes(marker)) await new Promise((r) => setTimeout(r, 10))
      const before = payloads.splice(0, payloads.indexOf(marker) + 1)
      return before.filter((p) => p === '').length
    }
    try {
      const runId = (await run(ctx, chain, {})).id
      const parent = await claimOne('worker-d', runId)
      await wakesUntilMarker('before')
      // Its first step is claimed by the same transaction that queued it: nobody is woken.
      const next = { workerId: 'worker-d', limit: 5, leaseMs: 60_000 }
      const released = await engine.complete([{ claim: parent, orchestrate: true }], next)
      expect(await wakesUntilMarker('claimed')).toBe(0)
      // Without claiming, the second step is left queued: the workers are woken for it.
      const first = released.claims.find((c) => c.run.parent_run_id === runId)!
      await engine.complete([{ claim: first, state: 'SUCCEEDED' }])
      expect(await wakesUntilMarker('left')).toBe(1)
    } finally {
      await unlisten()
    }
  })

  it('keeps a failed attempt with its own error and outputs when the run is retried', async () => {
    const id = await automation(ctx, {
      name: 'flaky',
      kind: 'NOOP',
      config: {},
      retry: { maxAttempts: 2, backoffMs: 0 },
    })
    const runId = (await run(ctx, id, {})).id
    const first = await claimOne('worker-a', runId)
    await engine.complete([
      { claim: first, state: 'FAILED', error: 'first try failed', outputs: { tried: 1 } },
    ])
    const second = await claimOne('worker-a', runId)
    await engine.complete([{ claim: second, state: 'SUCCEEDED', outputs: { tried: 2 } }])
    expect(await attemptsOf(runId)).toEqual([
      { attempt: 1, state: 'FAILED', error: 'first try failed', outputs: { tried: 1 } },
    ])
  })
})

describe('a running server', () => {
  let s: TestServer
  let editor: string
  beforeAll(async () => {
    s = await startTestServer()
    const o = await createOrg(s.db)
    editor = await s.login(o.users.editor!.email, o.users.editor!.password)
  })
  afterAll(() => s?.stop())

  it('lists every attempt of a retried run, each with its own outcome', async () => {
    const id = await createAutomation(s, editor, {
      name: 'always fails',
      kind: 'NOOP',
      config: { fail: 'no luck' },
      retry: { maxAttempts: 2, backoffMs: 0 },
    })
    const runId = await runAutomation(s, editor, id)
    expect((await waitForRun(s, editor, runId)).state).toBe('FAILED')
    const r = await s.gql<{
      run: { attempt: number; attempts: { attempt: number; state: string; error: string }[] }
    }>(
      'query($id: ID!) { run(id: $id) { attempt attempts { attempt state error } } }',
      { id: runId },
      { token: editor },
    )
    expect(r.data!.run).toEqual({
      attempt: 2,
      attempts: [
        { attempt: 1, state: 'FAILED', error: 'no luck' },
        { attempt: 2, state: 'FAILED', error: 'no luck' },
      ],
    })
  })

  it('does not stop a run on a forged cancel notification, only on a stored cancel request', async () => {
    {
      const id = await createAutomation(s, editor, {
        name: 'steady',
        kind: 'NOOP',
        config: { sleepMs: 1500 },
      })
      const runId = await runAutomation(s, editor, id)
      await waitForRun(s, editor, runId, ['RUNNING'])
      // What tenant SQL tried: a bare NOTIFY on the cancel channel.
      await s.db.query("select pg_notify('sy_cancel', $1)", [runId])
      expect((await waitForRun(s, editor, runId)).state).toBe('SUCCEEDED')

      const second = await runAutomation(s, editor, id)
      await waitForRun(s, editor, second, ['RUNNING'])
      await s.gql(
        'mutation($id: ID!) { cancelRun(id: $id) { __typename } }',
        { id: second },
        { token: editor },
      )
      expect((await waitForRun(s, editor, second)).state).toBe('CANCELLED')
    }
  })
})
