import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Database } from '../db/database'
import { coerceError } from '../errors'
import type { EventBus } from '../events/bus'
import type { KindServices } from '../kinds/kind'
import type { Logger } from '../log'
import { claimRuns, nextDueInMs } from '../queue/claim'
import { type Outcome, completeRuns } from '../queue/complete'
import { heartbeat } from '../queue/leases'
import type { RunRow } from '../queue/run-row'
import { executeRun, type StopReason } from './execute'
import { createLogWriter } from './log-writer'

export interface WorkerOptions {
  db: Database
  bus: EventBus
  log: Logger
  services: KindServices
  concurrency: number
  leaseMs: number
  pollMs: number
  /** Largest claim or completion batch. */
  batchSize?: number
}

export interface Worker {
  readonly id: string
  /** Stops claiming, lets running runs finish (up to graceMs), then aborts the rest. */
  stop(graceMs?: number): Promise<void>
}

interface Active {
  run: RunRow
  controller: AbortController
  done: Promise<void>
}

/**
 * A worker claims due runs while it has free slots, executes them, and records
 * outcomes in batches. It wakes on NOTIFY; polling is only the fallback (and the
 * timer for retries waiting out a backoff).
 */
export function startWorker(opts: WorkerOptions): Worker {
  const id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`
  const log = opts.log.child({ worker: id })
  const batchSize = opts.batchSize ?? 100
  const logs = createLogWriter(opts.db, log)
  const active = new Map<string, Active>()
  let pending: Outcome[] = []
  let flushing: Promise<void> | undefined
  let stopping = false
  let wake: (() => void) | undefined
  let woken = false
  // True while the loop waits for a free slot: only then must a finished run wake it
  // (otherwise the NOTIFY of new work does, and an extra claim would come back empty).
  let starved = false

  const poke = () => {
    woken = true
    wake?.()
  }
  const offWake = opts.bus.onWake(poke)
  const offReconnect = opts.bus.onReconnect(poke)
  const offCancel = opts.bus.onCancel((runId) => stopRun(runId, { kind: 'CANCELLED', message: 'cancelled' }))

  function stopRun(runId: string, reason: StopReason) {
    const a = active.get(runId)
    if (a && !a.controller.signal.aborted) a.controller.abort(reason)
  }

  const flush = (): Promise<void> => {
    if (flushing) return flushing
    flushing = (async () => {
      while (pending.length > 0) {
        const batch = pending.slice(0, batchSize)
        try {
          await logs.flush()
          await completeRuns(opts.db, id, batch)
          pending = pending.slice(batch.length)
        } catch (err) {
          // Keep the outcomes and try again: if the database stays away our leases
          // expire and recovery takes over; a late completion is then refused.
          log.warn({ err: coerceError(err) }, 'recording run outcomes failed; retrying')
          await sleep(500)
          if (stopping && pending.length > 0 && active.size === 0) break
        }
      }
    })().finally(() => {
      flushing = undefined
      if (starved) poke()
    })
    return flushing
  }

  const start = (run: RunRow) => {
    const controller = new AbortController()
    const done = executeRun({ run, signal: controller.signal, services: opts.services, logs, db: opts.db })
      .then((outcome) => {
        if (outcome) pending.push(outcome)
      })
      .finally(() => {
        active.delete(run.id)
        // A freed slot lets the loop claim the next batch while this one's outcomes commit.
        if (starved) poke()
        void flush()
      })
    active.set(run.id, { run, controller, done })
  }

  const loop = (async () => {
    while (!stopping) {
      const free = opts.concurrency - active.size
      let claimed = 0
      if (free > 0) {
        try {
          woken = false
          const rows = await claimRuns(opts.db, id, Math.min(free, batchSize), opts.leaseMs)
          claimed = rows.length
          for (const row of rows) start(row)
        } catch (err) {
          log.warn({ err: coerceError(err) }, 'claiming runs failed; retrying')
          await sleep(500)
          continue
        }
      }
      if (claimed > 0 && claimed === Math.min(free, batchSize)) continue
      // Only with a free slot: a wake-up while every slot is busy waits for a slot (starved → poke),
      // else this loop would spin without ever yielding to the event loop.
      if (woken && free > 0) continue
      let waitMs = opts.pollMs
      if (free > 0 && claimed === 0) {
        const due = await nextDueInMs(opts.db).catch(() => null)
        if (due !== null) waitMs = Math.min(waitMs, Math.max(1, due))
      }
      starved = free <= 0
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, waitMs)
        wake = () => {
          clearTimeout(t)
          resolve()
        }
      })
      wake = undefined
      starved = false
    }
  })()

  const beat = setInterval(
    async () => {
      const ids = [...active.keys()]
      if (ids.length === 0) return
      try {
        const alive = await heartbeat(opts.db, id, ids, opts.leaseMs)
        for (const runId of ids) {
          const state = alive.get(runId)
          if (!state) stopRun(runId, { kind: 'LOST', message: 'lease lost' })
          else if (state.cancelRequested)
            stopRun(runId, { kind: 'CANCELLED', message: state.cancelRequested })
        }
      } catch (err) {
        log.warn({ err: coerceError(err) }, 'heartbeat failed')
      }
    },
    Math.max(200, Math.floor(opts.leaseMs / 3)),
  )

  return {
    id,
    async stop(graceMs = 10_000) {
      stopping = true
      wake?.()
      clearInterval(beat)
      offWake()
      offReconnect()
      offCancel()
      await loop
      const all = [...active.values()]
      const timer = setTimeout(() => {
        for (const a of all)
          a.controller.abort({ kind: 'LOST', message: 'worker shutting down' } satisfies StopReason)
      }, graceMs)
      await Promise.all(all.map((a) => a.done))
      clearTimeout(timer)
      await flush()
      await logs.stop()
    },
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
