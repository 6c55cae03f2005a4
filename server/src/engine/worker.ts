import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Database } from '../db/database'
import { coerceError } from '../errors'
import type { EventBus } from '../events/bus'
import type { KindModule, KindServices } from '../kinds/kind'
import type { Logger } from '../log'
import type { Engine } from './engine'
import { executeRun } from './execute'
import { claimLimit } from './claim'
import { createExecutables } from './executables'
import { createLogWriter } from './log-writer'
import { RunStop, type StopReason } from './run-stop'
import type { Claim, Outcome } from './types'

export interface WorkerOptions {
  db: Database
  engine: Engine
  kinds: (name: string) => KindModule | undefined
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
  claim: Claim
  stop: RunStop
  done: Promise<void>
}

/**
 * A worker claims due runs while it has free slots, executes them, and records
 * outcomes in batches. It wakes on NOTIFY; polling is only the fallback (and the
 * timer for retries waiting out a backoff). A run stays heartbeated from its claim
 * until its outcome is committed, not only while its kind executes: a flush slowed
 * by load must never let the lease lapse and the run be recovered (and run again).
 */
export function startWorker(opts: WorkerOptions): Worker {
  const id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`
  const log = opts.log.child({ worker: id })
  const batchSize = opts.batchSize ?? 100
  // What this worker claims with every slot free: the same number each time (ClaimRequest.whole).
  const wholeClaim = Math.min(opts.concurrency, batchSize)
  const logs = createLogWriter(opts.db, log)
  const executables = createExecutables(opts.engine, opts.kinds)
  const active = new Map<string, Active>()
  // Executed, outcome not committed yet: still ours, still heartbeated.
  const committing = new Map<string, Claim>()
  let pending: Outcome[] = []
  // Slots asked for by a claim (or a completion claiming with it) not answered yet:
  // the loop and a flush may claim at once, and together must not exceed the concurrency.
  let reserved = 0
  const freeSlots = () => opts.concurrency - active.size - reserved
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
  // The notification is only a hint: the run stops if its row really holds a cancel request.
  const offCancel = opts.bus.onCancel((runId) => {
    const a = active.get(runId)
    if (!a) return
    opts.engine
      .cancelRequests([a.claim])
      .then((found) => {
        const reason = found.get(runId)
        if (reason) stopRun(runId, { kind: 'CANCELLED', message: reason })
      })
      .catch((err) => log.warn({ err: coerceError(err) }, 'reading a cancel request failed'))
  })

  function stopRun(runId: string, reason: StopReason) {
    const a = active.get(runId)
    a?.stop.stop(reason)
  }

  const flush = (): Promise<void> => {
    if (flushing) return flushing
    flushing = (async () => {
      while (pending.length > 0) {
        const batch = pending.slice(0, batchSize)
        // The batch claims this worker's next runs with it: a chain's next step, queued by
        // this very batch, starts without waiting for a wake-up and a claim of its own.
        const limit = stopping ? 0 : Math.max(0, Math.min(freeSlots(), batchSize))
        reserved += limit
        try {
          await logs.flush()
          const done = await opts.engine.complete(
            batch,
            limit > 0
              ? { workerId: id, limit, leaseMs: opts.leaseMs, whole: limit === wholeClaim }
              : undefined,
          )
          pending = pending.slice(batch.length)
          for (const o of batch) committing.delete(o.claim.run.id)
          reserved -= limit
          for (const claim of done.claims) start(claim)
          // A full claim (rounded down, see claimLimit) may have left due runs behind: the
          // loop claims the rest now, not at the next wake-up.
          if (limit > 0 && done.claims.length === claimLimit(limit) && freeSlots() > 0) poke()
        } catch (err) {
          reserved -= limit
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

  const start = (claim: Claim) => {
    const { run } = claim
    const stop = new RunStop()
    const done = executeRun({ claim, stop, services: opts.services, logs, db: opts.db, executables })
      .then((outcome) => {
        if (!outcome) return
        // Heartbeated on until committed (see flush).
        committing.set(run.id, claim)
        pending.push(outcome)
      })
      .finally(() => {
        active.delete(run.id)
        // A freed slot lets the loop claim the next batch while this one's outcomes commit.
        if (starved) poke()
        void flush()
      })
    active.set(run.id, { claim, stop, done })
  }

  const loop = (async () => {
    while (!stopping) {
      const free = freeSlots()
      let claimed = 0
      if (free > 0) {
        const limit = Math.min(free, batchSize)
        reserved += limit
        try {
          woken = false
          const claims = await opts.engine.claim({
            workerId: id,
            limit,
            leaseMs: opts.leaseMs,
            whole: limit === wholeClaim,
          })
          reserved -= limit
          claimed = claims.length
          for (const claim of claims) start(claim)
        } catch (err) {
          reserved -= limit
          log.warn({ err: coerceError(err) }, 'claiming runs failed; retrying')
          await sleep(500)
          continue
        }
      }
      // A full claim (see claimLimit) may have left due runs behind: claim again at once.
      if (claimed > 0 && claimed === claimLimit(Math.min(free, batchSize))) continue
      // Only with a free slot: a wake-up while every slot is busy waits for a slot (starved → poke),
      // else this loop would spin without ever yielding to the event loop.
      if (woken && free > 0) continue
      let waitMs = opts.pollMs
      // Whatever this claim got, a run due later (a scheduled tick queued ahead by the
      // scheduler's lookahead, a retry's backoff) starts when it is due, not at the next
      // wake-up of other work: under load that is up to the load's insert interval late.
      if (free > 0) {
        const due = await opts.engine.nextDueInMs().catch((err) => {
          log.warn({ err: coerceError(err) }, 'reading the next due time failed')
          return null
        })
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
      const claims = [...[...active.values()].map((a) => a.claim), ...committing.values()]
      if (claims.length === 0) return
      try {
        const alive = await opts.engine.heartbeat(claims, opts.leaseMs)
        for (const { run } of claims) {
          if (!active.has(run.id)) continue
          const state = alive.get(run.id)
          if (!state) stopRun(run.id, { kind: 'LOST', message: 'lease lost' })
          else if (state.cancelRequested)
            stopRun(run.id, { kind: 'CANCELLED', message: state.cancelRequested })
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
      // A batch in flight may have claimed runs with it before we stopped: they are ours to
      // finish. Bounded by the grace period: with the database away the batch retries on.
      if (flushing) await Promise.race([flushing, sleep(graceMs)])
      const all = [...active.values()]
      const timer = setTimeout(() => {
        for (const a of all) a.stop.stop({ kind: 'LOST', message: 'worker shutting down' })
      }, graceMs)
      await Promise.all(all.map((a) => a.done))
      clearTimeout(timer)
      await flush()
      await logs.stop()
    },
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
