import type { AutomationInput } from '../../server/src/automations/input'
import { createAutomation } from '../../server/src/automations/service'
import { loadConfig } from '../../server/src/config'
import type { DataServices } from '../../server/src/data/services'
import type { Database } from '../../server/src/db/database'
import type { Context } from '../../server/src/graphql/context'
import { type Engine, createEngine } from '../../server/src/engine/engine'
import { getKind } from '../../server/src/kinds/registry'
import { createLogger } from '../../server/src/log'
import type { SandboxPool } from '../../server/src/sandbox'
import { type ManualClock, createManualClock } from '../../server/src/scheduler/clock'
import { type Scheduler, startScheduler } from '../../server/src/scheduler/scheduler'
import type { Services } from '../../server/src/services'
import type { TriggerEventRow } from '../../server/src/triggers/events'
import { createTrigger } from '../../server/src/triggers/service'
import type { Warehouse } from '../../server/src/warehouse/warehouse'
import type { TestOrg } from '../helpers/fixtures'
import { TEST_SECRET_KEY } from '../helpers/server'

export const config = loadConfig({
  SWITCHYARD_SECRET_KEY: TEST_SECRET_KEY,
  SWITCHYARD_DATA_DIR: '/tmp/sy-triggers-unused',
  ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
})
export const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent')

// One engine per test database, as one app would have: run-finished hooks registered on it
// (installTriggerHooks) run when the test ends runs through it (finish).
const engines = new WeakMap<Database, Engine>()
export function engineFor(db: Database): Engine {
  let e = engines.get(db)
  if (!e) {
    e = createEngine({ db, log, kinds: getKind })
    engines.set(db, e)
  }
  return e
}

/** A GraphQL context for calling services directly as `userKey` of `org` (no server, no scheduler). */
export function contextFor(db: Database, org: TestOrg, userKey = 'editor'): Context {
  const u = org.users[userKey]!
  const services = { db, config, log, engine: engineFor(db) } as unknown as Services
  return {
    services,
    viewer: { type: 'user', userId: u.id, orgId: org.id, role: u.role, email: u.email, via: 'session' },
    origin: undefined,
    responseCookies: [],
    memo: new Map(),
  }
}

export async function automation(ctx: Context, input: AutomationInput): Promise<string> {
  return (await createAutomation(ctx, input)).id
}

/** Creates a trigger as of the fake clock's time; returns its id. */
export async function trigger(
  ctx: Context,
  automationId: string,
  input: Record<string, unknown>,
  now: number,
): Promise<string> {
  return (await createTrigger(ctx, automationId, input, new Date(now))).trigger.id
}

/** A scheduler on fake time that only moves when the test calls pass(). */
export async function fakeScheduler(
  db: Database,
  clock: ManualClock,
  deps: { warehouse?: Warehouse; sandbox?: SandboxPool; data?: DataServices } = {},
  settings: Partial<typeof config.triggers> = {},
): Promise<Scheduler> {
  return startScheduler({
    db,
    engine: engineFor(db),
    log,
    clock,
    loop: false,
    settings: { ...config.triggers, lookaheadMs: 0, ...settings },
    warehouse: deps.warehouse ?? ({} as Warehouse),
    sandbox: deps.sandbox ?? ({} as SandboxPool),
    ...(deps.data ? { data: deps.data } : {}),
  })
}

export { createManualClock }

/** Runs of an automation with their trigger source and run_at, oldest first. */
export function runsOf(db: Database, automationId: string) {
  return db.query<{
    id: string
    state: string
    trigger_source: string
    run_at: Date
    parameters: Record<string, unknown>
  }>('select id, state, trigger_source, run_at, parameters from runs where automation_id = $1 order by id', [
    automationId,
  ])
}

/** Scheduled times fired for a trigger, oldest first (ISO strings). */
export async function firedTicks(db: Database, triggerId: string): Promise<string[]> {
  const rows = await db.query<{ scheduled_at: Date }>(
    'select scheduled_at from trigger_fires where trigger_id = $1 and run_id is not null order by scheduled_at',
    [triggerId],
  )
  return rows.map((r) => new Date(r.scheduled_at).toISOString())
}

export function eventsOf(db: Database, automationId: string): Promise<TriggerEventRow[]> {
  return db.query<TriggerEventRow>(
    'select id, trigger_id, at, kind, message, run_id, scheduled_at from trigger_events where automation_id = $1 order by id',
    [automationId],
  )
}

/** Ends runs as a worker would (SUCCEEDED), through the engine, so run-finished hooks run. */
export async function finish(db: Database, runIds: string[], state: 'SUCCEEDED' | 'FAILED' = 'SUCCEEDED') {
  await db.transaction((tx) =>
    engineFor(db).finishIn(tx, runIds, state, state === 'FAILED' ? 'failed on purpose' : null),
  )
}

/** A whole-minute time well in the past (runs queued at it are due at once). */
export const T0 = Date.parse('2026-01-05T10:00:00.000Z')
