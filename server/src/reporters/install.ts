import type { Database, Queryable } from '../db/database'
import type { Engine } from '../engine/engine'
import { coerceError } from '../errors'
import type { Logger } from '../log'
import { queueDeliveries } from './enqueue'

/** NOTIFY channel of reporter changes; payload: the automation id. */
export const REPORTER_CHANNEL = 'sy_reporters'

/** Announces, in the caller's transaction, that an automation's reporters changed. */
export async function announceReporters(q: Queryable, automationId: string): Promise<void> {
  await q.query(`select pg_notify('${REPORTER_CHANNEL}', $1)`, [automationId])
}

/**
 * Wires reporters into the engine: the transaction that moves runs to RUNNING queues
 * their START deliveries, the one that makes a run final its END deliveries. Every
 * node registers these (an api node ends runs too, by cancelling).
 *
 * Every claim and completion runs the hooks (W3 does ten thousand a second), so "does
 * this automation have reporters?" is answered from a set of automation ids kept fresh by
 * NOTIFY: the id in the payload is added at once, on the same LISTEN connection that
 * delivers the wake-up of a run queued after the save, so a run never starts before its
 * node knows the reporter saved before it. A full reload follows each change, each
 * reconnect, and every minute.
 */
export async function installReporterHooks(
  engine: Engine,
  db: Database,
  log: Logger,
  opts: { maxAttempts: number },
): Promise<{ stop(): Promise<void> }> {
  const watched = new Set<string>()
  const notifiedAt = new Map<string, number>()
  const reload = async () => {
    const started = Date.now()
    const rows = await db.query<{ automation_id: string }>(
      'select distinct automation_id from reporters where enabled',
    )
    const fresh = new Set(rows.map((r) => r.automation_id))
    // An id announced while this read ran may be missing from it: keep it until the next reload.
    for (const id of watched) if (!fresh.has(id) && (notifiedAt.get(id) ?? 0) < started) watched.delete(id)
    for (const id of fresh) watched.add(id)
    for (const [id, at] of notifiedAt) if (at < started) notifiedAt.delete(id)
  }
  const safeReload = () =>
    void reload().catch((err) => log.warn({ err: coerceError(err) }, 'reloading reporters failed'))
  await reload()
  engine.onRunStarted(
    (tx, runs) =>
      queueDeliveries(
        tx,
        'START',
        runs.filter((r) => watched.has(r.automation_id)),
        opts.maxAttempts,
      ),
    () => watched.size > 0,
  )
  engine.onRunFinished(async (tx, run) => {
    // A SKIPPED run never ran (mutex policy SKIP): there is nothing to report.
    if (run.state !== 'SKIPPED' && watched.has(run.automation_id))
      await queueDeliveries(tx, 'END', [run], opts.maxAttempts)
  })
  const unlisten = await db.listen(
    REPORTER_CHANNEL,
    (automationId) => {
      if (automationId) {
        watched.add(automationId)
        notifiedAt.set(automationId, Date.now())
      }
      safeReload()
    },
    safeReload,
  )
  const timer = setInterval(safeReload, 60_000)
  timer.unref()
  return {
    // The hooks stay: runs still finishing while the worker drains must queue their messages.
    async stop() {
      clearInterval(timer)
      await unlisten().catch(() => {})
    },
  }
}
