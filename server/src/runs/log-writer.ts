import type { Database } from '../db/database'
import type { LogLevel } from '../domain'
import { coerceError } from '../errors'
import type { LogEventTuple } from '../events/channels'
import { notifyLogs } from '../events/notify'
import type { Logger } from '../log'

const MAX_LINE = 10_000
const FLUSH_MS = 20

interface Pending {
  runId: string
  orgId: string
  level: LogLevel
  message: string
  at: Date
}

/**
 * Buffers run log lines and writes them in batches (one INSERT and a few
 * NOTIFYs per flush), so a chatty script cannot make a round trip per line.
 */
export interface LogWriter {
  write(runId: string, orgId: string, level: LogLevel, message: string): void
  /** Writes everything buffered so far; called before a run's completion is recorded. */
  flush(): Promise<void>
  stop(): Promise<void>
}

export function createLogWriter(db: Database, log: Logger): LogWriter {
  let buffer: Pending[] = []
  let timer: NodeJS.Timeout | undefined
  let inFlight: Promise<void> = Promise.resolve()

  const flushNow = (): Promise<void> => {
    if (timer) clearTimeout(timer)
    timer = undefined
    const batch = buffer
    buffer = []
    if (batch.length === 0) return inFlight
    inFlight = inFlight
      .then(() => writeBatch(batch))
      .catch((err) => log.error({ err: coerceError(err) }, 'writing run logs failed'))
    return inFlight
  }

  const writeBatch = (batch: Pending[]) =>
    db.transaction(async (tx) => {
      const ids = await tx.query<{ id: string }>(
        `insert into run_logs (run_id, org_id, level, message, at)
         select * from unnest($1::int8[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[])
         returning id`,
        [
          batch.map((p) => p.runId),
          batch.map((p) => p.orgId),
          batch.map((p) => p.level),
          batch.map((p) => p.message),
          batch.map((p) => p.at.toISOString()),
        ],
      )
      const tuples: LogEventTuple[] = batch.map((p, i) => [
        p.runId,
        p.orgId,
        ids[i]!.id,
        p.level,
        p.message,
        p.at.getTime(),
      ])
      await notifyLogs(tx, tuples)
    })

  return {
    write(runId, orgId, level, message) {
      const text =
        message.length > MAX_LINE
          ? `${message.slice(0, MAX_LINE)}… [line cut at ${MAX_LINE} characters]`
          : message
      buffer.push({ runId, orgId, level, message: text, at: new Date() })
      timer ??= setTimeout(flushNow, FLUSH_MS)
    },
    flush: flushNow,
    stop: flushNow,
  }
}
