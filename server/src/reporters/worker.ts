import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { coerceError } from '../errors'
import type { Logger } from '../log'
import { type DeliveryServices, sendReport } from './deliver'
import type { RunSnapshot } from './domain'
import { DELIVERY_CHANNEL } from './enqueue'
import {
  CONNECTION_COLUMNS,
  type ConnectionRow,
  type DeliveryRow,
  REPORTER_COLUMNS,
  type ReporterRow,
} from './rows'
import { type DeliveryResult, claimDeliveries, completeDelivery, nextDeliveryInMs } from './queue'

export interface DeliverySettings {
  /** Deliveries sent at once by one node; 0: this node sends none. */
  readonly concurrency: number
  /** A claimed delivery is someone else's to retry after this (its sender died). */
  readonly leaseMs: number
  /** First retry delay; doubles each attempt, up to an hour. */
  readonly backoffMs: number
  readonly maxAttempts: number
  readonly pollMs: number
}

export interface DeliveryWorker {
  stop(): Promise<void>
}

/** Exponential backoff with ±20 % jitter, so receivers coming back are not hit all at once. */
export const retryDelayMs = (base: number, attempt: number) =>
  Math.min(3_600_000, base * 2 ** Math.max(0, attempt - 1)) * (0.8 + Math.random() * 0.4)

/**
 * Sends queued deliveries: claims what is due while it has free slots, sends each through
 * its channel, records the outcome fenced by the claim. Wakes on NOTIFY (a run just
 * queued one), polls as the fallback and for retries waiting out their backoff.
 */
export function startDeliveryWorker(opts: {
  services: DeliveryServices
  log: Logger
  settings: DeliverySettings
}): DeliveryWorker {
  const { services, settings } = opts
  const db = services.db
  const owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`
  const log = opts.log.child({ deliveryWorker: owner })
  const active = new Map<string, Promise<void>>()
  const controller = new AbortController()
  let stopping = false
  let wake: (() => void) | undefined
  let woken = false
  const poke = () => {
    woken = true
    wake?.()
  }
  const unlisten = db.listen(DELIVERY_CHANNEL, poke, poke)
  // A send may take its whole lease minus a margin to record the result.
  const timeoutMs = Math.max(1000, Math.min(60_000, Math.floor(settings.leaseMs / 2)))

  async function handle(d: DeliveryRow): Promise<DeliveryResult> {
    if (d.attempts > d.max_attempts)
      return {
        state: 'FAILED',
        responseCode: null,
        error: d.error ?? 'gave up: the sender was lost',
        detail: null,
      }
    const [reporter] = d.reporter_id
      ? await db.query<ReporterRow>(`select ${REPORTER_COLUMNS} from reporters where id = $1`, [
          d.reporter_id,
        ])
      : d.spec
        ? [stepReporter(d)]
        : []
    if (!reporter)
      return { state: 'FAILED', responseCode: null, error: 'the reporter was deleted', detail: null }
    const [connection] = await db.query<ConnectionRow>(
      `select ${CONNECTION_COLUMNS} from channel_connections where id = $1 and org_id = $2`,
      [reporter.connection_id, d.org_id],
    )
    if (!connection)
      return {
        state: 'FAILED',
        responseCode: null,
        error: 'the channel connection was deleted',
        detail: null,
      }
    const out = await sendReport(services, {
      reporter,
      connection,
      snapshot: d.snapshot as RunSnapshot,
      queuedAt: d.created_at,
      deliveryKey: d.idempotency_key,
      signal: controller.signal,
      timeoutMs,
      values: d.spec ? { params: (d.spec as { params?: unknown }).params ?? {} } : undefined,
    })
    if (out.kind === 'SENT')
      return { state: 'DELIVERED', responseCode: out.sent.responseCode, error: null, detail: out.sent.detail }
    if (out.kind === 'SKIPPED')
      return { state: 'SKIPPED', responseCode: null, error: null, detail: out.reason }
    const retry = out.retryable && d.attempts < d.max_attempts
    return {
      state: retry ? 'QUEUED' : 'FAILED',
      responseCode: out.responseCode,
      error: out.error,
      detail: null,
      retryInMs: retry ? retryDelayMs(settings.backoffMs, d.attempts) : 0,
    }
  }

  const start = (d: DeliveryRow) => {
    const done = (async () => {
      let result: DeliveryResult
      try {
        result = await handle(d)
      } catch (err) {
        const e = coerceError(err)
        const retry = d.attempts < d.max_attempts
        result = {
          state: retry ? 'QUEUED' : 'FAILED',
          responseCode: null,
          error: e.message,
          detail: null,
          retryInMs: retryDelayMs(settings.backoffMs, d.attempts),
        }
      }
      // Recording must not be lost to a blip: retry until it lands or the lease is gone.
      for (let i = 0; i < 10; i++) {
        try {
          const current = await completeDelivery(db, d, owner, result)
          if (!current)
            log.warn({ delivery: d.id }, 'a delivery outcome came after its lease; the newer claim decides')
          if (result.state === 'QUEUED') poke()
          return
        } catch (err) {
          log.warn({ err: coerceError(err), delivery: d.id }, 'recording a delivery failed; retrying')
          await sleep(500)
        }
      }
    })().finally(() => {
      active.delete(d.id)
      poke()
    })
    active.set(d.id, done)
  }

  const loop = (async () => {
    await unlisten.catch((err) => log.warn({ err: coerceError(err) }, 'listening for deliveries failed'))
    while (!stopping) {
      const free = settings.concurrency - active.size
      let claimed = 0
      woken = false
      if (free > 0) {
        try {
          const rows = await claimDeliveries(db, owner, free, settings.leaseMs)
          claimed = rows.length
          for (const d of rows) start(d)
        } catch (err) {
          log.warn({ err: coerceError(err) }, 'claiming deliveries failed; retrying')
          await sleep(500)
          continue
        }
      }
      if (claimed > 0 && claimed === free) continue
      if (woken && free > 0) continue
      let waitMs = settings.pollMs
      if (free > 0) {
        const due = await nextDeliveryInMs(db).catch(() => null)
        if (due !== null) waitMs = Math.min(waitMs, Math.max(5, due))
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, waitMs)
        wake = () => {
          clearTimeout(t)
          resolve()
        }
        if (woken || stopping) wake()
      })
      wake = undefined
    }
  })()

  return {
    async stop() {
      stopping = true
      wake?.()
      await loop
      // Sends in flight get a moment to finish; then they are aborted, recorded as a retry
      // (the abort is a network error), and another node sends them.
      const abort = setTimeout(() => controller.abort(), 2000)
      await Promise.all(active.values())
      clearTimeout(abort)
      await (await unlisten.catch(() => async () => {}))().catch(() => {})
    },
  }
}

/** A SEND_MESSAGE step's message as a reporter that always sends. */
function stepReporter(d: DeliveryRow): ReporterRow {
  const spec = d.spec as { connectionId: string; template: string; target: unknown }
  return {
    id: '',
    org_id: d.org_id,
    automation_id: d.automation_id,
    connection_id: spec.connectionId,
    name: 'message step',
    event: 'STEP',
    condition: 'ANY',
    expression: null,
    template: spec.template,
    target: spec.target ?? {},
    enabled: true,
    created_by: null,
    created_at: d.created_at,
    updated_at: d.created_at,
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
