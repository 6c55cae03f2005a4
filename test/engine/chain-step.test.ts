import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database, QueryOptions, Queryable } from '../../server/src/db/database'
import { Channel, type RunEventTuple } from '../../server/src/events/channels'
import { type Engine, createEngine } from '../../server/src/engine/engine'
import type { Claim } from '../../server/src/engine/types'
import type { Context } from '../../server/src/graphql/context'
import { getKind } from '../../server/src/kinds/registry'
import { createLogger } from '../../server/src/log'
import { runAutomation as run } from '../../server/src/runs/service'
import { claimOne } from '../helpers/claims'
import { type TestDatabase, queueMismatches, testDatabase } from '../helpers/db'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { automation, contextFor } from '../triggers/helpers'

/**
 * Wraps a database so the order in which statements are sent and answered is recorded, by
 * their first words. Options pass through: a statement marked last carries the COMMIT.
 */
function recording(inner: Database): { db: Database; events: string[] } {
  const events: string[] = []
  const wrap = (q: Queryable): Queryable => ({
    query<T>(text: string, params?: readonly unknown[], opts?: QueryOptions) {
      const shape = text.replace(/\s+/g, ' ').trim().slice(0, 30)
      events.push(`sent ${shape}`)
      const rows = q.query<T>(text, params, opts)
      rows.then(
        () => events.push(`answered ${shape}`),
        () => events.push(`failed ${shape}`),
      )
      return rows
    },
  })
  const db: Database = {
    driver: inner.driver,
    get db() {
      return inner.db
    },
    query: wrap(inner).query,
    transaction: (fn) => inner.transaction((tx) => fn(wrap(tx))),
    listen: (channel, onPayload, onListen) => inner.listen(channel, onPayload, onListen),
    close: () => inner.close(),
  }
  return { db, events }
}

const INSERT = 'with inserted as (insert into'
const CLAIM = 'with due as ('

let tdb: TestDatabase
let org: TestOrg
let ctx: Context
let engine: Engine
let events: string[]

beforeAll(async () => {
  tdb = await testDatabase()
  org = await createOrg(tdb.db)
  ctx = contextFor(tdb.db, org)
  const rec = recording(tdb.db)
  events = rec.events
  // No worker: the test plays it through the engine, so it sees each completion batch alone.
  engine = createEngine({ db: rec.db, log: createLogger('silent'), kinds: getKind })
})
afterAll(() => tdb?.drop())

/**
 * Runs an orchestrating automation of NOOP steps one after the other through the engine,
 * each step's completion claiming the next, and checks each batch from the second step on
 * (the engine has seen the parent by then and foresees its next step): the claim goes out
 * behind the step's INSERT, before the INSERT has answered. Then every step must have
 * announced QUEUED, RUNNING and SUCCEEDED once each, in order, with its own fields.
 */
async function runsStepByStep(parentId: string, steps: string[]): Promise<void> {
  const announced: RunEventTuple[] = []
  const unlisten = await tdb.db.listen(Channel.RUN, (p) =>
    announced.push(...(JSON.parse(p) as RunEventTuple[])),
  )
  try {
    const parentRun = await run(ctx, parentId, {})
    const parent = await claimOne(engine, 'worker', parentRun.id)
    await engine.complete([{ claim: parent, orchestrate: true }])
    const [first] = await tdb.db.query<{ id: string }>('select id from runs where parent_run_id = $1', [
      parentRun.id,
    ])
    let current: Claim = await claimOne(engine, 'worker', first!.id)
    const next = { workerId: 'worker', limit: 1, leaseMs: 60_000, whole: true }
    for (let step = 0; step < steps.length - 1; step++) {
      events.length = 0
      const done = await engine.complete([{ claim: current, state: 'SUCCEEDED', outputs: {} }], next)
      // The batch claimed the step it queued itself.
      expect(done.claims.map((c) => c.run.step)).toEqual([step + 1])
      expect(done.claims[0]!.run.parent_run_id).toBe(parentRun.id)
      if (step > 0) {
        const at = (what: string) => events.findIndex((e) => e.startsWith(what))
        const log = events.join('\n')
        expect(at(`sent ${INSERT}`), log).toBeGreaterThanOrEqual(0)
        expect(at(`sent ${CLAIM}`), log).toBeGreaterThan(at(`sent ${INSERT}`))
        expect(at(`sent ${CLAIM}`), log).toBeLessThan(at(`answered ${INSERT}`))
      }
      current = done.claims[0]!
    }
    await engine.complete([{ claim: current, state: 'SUCCEEDED', outputs: {} }])
    const rows = await tdb.db.query<{ id: string; state: string; step: number | null }>(
      'select id::text, state, step from runs where id = $1 or parent_run_id = $1 order by step nulls first',
      [parentRun.id],
    )
    expect(rows.map((r) => [r.step, r.state])).toEqual([
      [null, 'SUCCEEDED'],
      ...steps.map((_, i) => [i, 'SUCCEEDED']),
    ])
    expect(await queueMismatches(tdb.db)).toEqual([])
    const deadline = Date.now() + 5000
    const stateOf = (id: string) => announced.filter((t) => t[0] === id).map((t) => t[3])
    while (stateOf(rows[0]!.id).at(-1) !== 'SUCCEEDED' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20))
    for (const r of rows.slice(1)) {
      expect(stateOf(r.id)).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED'])
      const queued = announced.find((t) => t[0] === r.id && t[3] === 'QUEUED')!
      expect(queued.slice(1, 6)).toEqual([org.id, steps[r.step!], 'QUEUED', parentRun.id, 1])
      expect(queued.slice(6)).toEqual([null, null, null])
    }
  } finally {
    await unlisten()
  }
}

describe('the next step of a sequence', () => {
  const noops = async (prefix: string) => {
    const steps: string[] = []
    for (let i = 0; i < 4; i++)
      steps.push(await automation(ctx, { name: `${prefix} ${i}`, kind: 'NOOP', config: {} }))
    return steps
  }

  it('of a chain is queued and claimed in one round trip, every change announced in order', async () => {
    const steps = await noops('chain step')
    const chainId = await automation(ctx, { name: 'steps', kind: 'CHAIN', config: { children: steps } })
    await runsStepByStep(chainId, steps)
  })

  it('of a workflow is queued and claimed in one round trip, every change announced in order', async () => {
    const steps = await noops('workflow step')
    const names = steps.map((_, i) => `s${i}`)
    const workflowId = await automation(ctx, {
      name: 'line',
      kind: 'WORKFLOW',
      config: {
        steps: steps.map((automationId, i) => ({ name: names[i], automationId })),
        edges: names.slice(1).map((to, i) => ({ from: names[i], to })),
      },
    })
    await runsStepByStep(workflowId, steps)
  })
})
