import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { TriggerSettings } from '../config'
import type { DataServices } from '../data/services'
import type { Database } from '../db/database'
import type { Engine } from '../engine/engine'
import { coerceError } from '../errors'
import type { Logger } from '../log'
import type { SandboxPool } from '../sandbox'
import { sweepFollowers } from '../triggers/after-automation'
import { POLLING_TYPES, TRIGGER_CHANNEL } from '../triggers/domain'
import { pruneHistory } from '../triggers/events'
import type { Warehouse } from '../warehouse/warehouse'
import { type Clock, systemClock } from './clock'
import { cronPass, nextCronWake } from './cron-pass'
import { sweepPending } from './overlap'
import { type PollOptions, pollPass } from './poll-pass'
import { evaluateCode } from './watch-code'
import { evaluateDataset } from './watch-dataset'
import { evaluateSqlChange } from './watch-sql'

export interface SchedulerOptions {
  db: Database
  engine: Engine
  log: Logger
  settings: Pick<TriggerSettings, 'tickMs' | 'lookaheadMs' | 'misfireMs' | 'lateMs'>
  warehouse: Warehouse
  sandbox: SandboxPool
  /** Lets DATASET_CHANGE and SQL_CHANGE triggers read PostgreSQL datasources; without it, only the warehouse. */
  data?: DataServices
  clock?: Clock
  /** false: no background loops, the caller drives it with pass() (fake-time tests). */
  loop?: boolean
}

export interface Scheduler {
  readonly id: string
  /** One CRON pass, waiting-tick sweep and polling pass at the clock's time; returns runs fired. */
  pass(): Promise<number>
  /** Stops the loops and waits for the pass in progress. */
  stop(): Promise<void>
}

const HOUR = 3_600_000
// AFTER_AUTOMATION fires in the run's own transaction; this only catches what a stale watch list missed.
const FOLLOWER_SWEEP_MS = 5_000
// Longer than the slowest evaluation (30 s query or 60 s script) with room to write back.
const POLL_LEASE_MS = 120_000

/**
 * Starts a scheduler: any number may run against one database. CRON ticks
 * fire exactly once (unique key per tick); polling triggers are evaluated by
 * one scheduler at a time (a lease). Problems are logged and retried, never fatal.
 */
export async function startScheduler(o: SchedulerOptions): Promise<Scheduler> {
  const id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`
  const clock = o.clock ?? systemClock
  const log = o.log.child({ scheduler: id })
  const timing = o.settings
  const poll: PollOptions = {
    engine: o.engine,
    db: o.db,
    owner: id,
    evaluators: { DATASET_CHANGE: evaluateDataset, SQL_CHANGE: evaluateSqlChange, CODE: evaluateCode },
    ctx: { db: o.db, warehouse: o.warehouse, sandbox: o.sandbox, data: o.data },
    leaseMs: POLL_LEASE_MS,
    batch: 4,
  }
  let lastPrune = 0
  let lastFollowerSweep = 0

  const cronStep = async (): Promise<number> => {
    const now = clock.now()
    let fired =
      (await cronPass(o.engine, o.db, now, timing)) + (await sweepPending(o.engine, o.db, new Date(now)))
    if (now - lastFollowerSweep >= FOLLOWER_SWEEP_MS) {
      lastFollowerSweep = now
      fired += await sweepFollowers(o.engine, o.db)
    }
    if (now - lastPrune > HOUR) {
      lastPrune = now
      await pruneHistory(o.db, new Date(now), {
        firesMs: Math.max(2 * 86_400_000, 2 * timing.misfireMs),
        eventsMs: 30 * 86_400_000,
      })
    }
    return fired
  }
  const pollStep = () => pollPass(poll, clock.now())

  if (o.loop === false) {
    return { id, pass: async () => (await cronStep()) + (await pollStep()), stop: async () => {} }
  }

  const stopping = new AbortController()
  const loops = [
    loop('cron', cronStep, async () => nextCronWake(o.db, timing.lookaheadMs)),
    loop('poll', pollStep, () => nextPollWake(o.db)),
  ]
  const unlisten = await o.db.listen(TRIGGER_CHANNEL, () => {
    for (const l of loops) l.poke()
  })
  log.info('scheduler started')

  function loop(name: string, step: () => Promise<number>, nextAt: () => Promise<number | null>) {
    let poked = false
    let wake = new AbortController()
    const done = (async () => {
      while (!stopping.signal.aborted) {
        poked = false
        let until = clock.now() + timing.tickMs
        try {
          await step()
          const at = await nextAt()
          if (at !== null) until = Math.min(until, at)
        } catch (err) {
          log.warn({ err: coerceError(err) }, `scheduler ${name} pass failed; retrying`)
        }
        if (poked || stopping.signal.aborted) continue
        wake = new AbortController()
        const both = AbortSignal.any([wake.signal, stopping.signal])
        await clock.sleep(Math.max(1, until - clock.now()), both)
      }
    })()
    return {
      done,
      poke: () => {
        poked = true
        wake.abort()
      },
    }
  }

  return {
    id,
    pass: async () => (await cronStep()) + (await pollStep()),
    async stop() {
      stopping.abort()
      await unlisten().catch(() => {})
      await Promise.all(loops.map((l) => l.done))
      log.info('scheduler stopped')
    },
  }
}

/** When the next polling trigger is due (a leased one when its lease ends). */
async function nextPollWake(db: Database): Promise<number | null> {
  const [row] = await db.query<{ at: Date | null }>(
    `select min(greatest(t.next_check_at, coalesce(t.lease_until, t.next_check_at))) as at
     from triggers t join automations a on a.id = t.automation_id and a.deleted_at is null
     left join trigger_settings s on s.automation_id = t.automation_id
     where t.type = any($1::text[]) and t.enabled and coalesce(s.auto_triggers, true)`,
    [POLLING_TYPES],
  )
  return row?.at ? new Date(row.at).getTime() : null
}
