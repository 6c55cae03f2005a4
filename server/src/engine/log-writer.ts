import type { Database } from '../db/database'
import type { LogLevel } from '../domain'
import { coerceError } from '../errors'
import type { LogEventTuple } from '../events/channels'
import { notifyLogs } from '../events/notify'
import type { Logger } from '../log'
import type { Claim } from './types'

const MAX_LINE = 10_000
const FLUSH_MS = 20

interface Pending {
  runId: string
  orgId: string
  token: string
  level: LogLevel
  message: string
  at: Date
}

/**
 * Buffers run log lines and writes them in batches (one INSERT and a few
 * NOTIFYs per flush), so a chatty script cannot make a round trip per line.
 */
export interface LogWriter {
  /** Buffers a line of the claimed run; it is written only while the claim is current. */
  write(claim: Claim, level: LogLevel, message: string): void
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
      // Fenced: only lines whose claim token is still the run's current one are kept, so a
      // worker that lost its lease cannot write into the log of the attempt that replaced it.
      const written = await tx.query<{ id: string; run_id: string; org_id: string }>(
        `insert into run_logs (run_id, org_id, level, message, at)
         select l.run_id, l.org_id, l.level, l.message, l.at
         from unnest($1::int8[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::int8[])
           with ordinality as l(run_id, org_id, level, message, at, token, n)
         join runs r on r.id = l.run_id and r.claim_token = l.token
         order by l.n
         returning id, run_id, org_id`,
        [
          batch.map((p) => p.runId),
          batch.map((p) => p.orgId),
          batch.map((p) => p.level),
          batch.map((p) => p.message),
          batch.map((p) => p.at.toISOString()),
          batch.map((p) => p.token),
        ],
      )
      if (written.length < batch.length)
        log.warn({ refused: batch.length - written.length }, 'refused log lines of stale claims')
      // The announcement names only where to read: subscribers read the lines the platform wrote.
      const last = new Map<string, LogEventTuple>()
      for (const w of written) {
        const prev = last.get(w.run_id)
        if (!prev || BigInt(w.id) > BigInt(prev[2])) last.set(w.run_id, [w.run_id, w.org_id, w.id])
      }
      await notifyLogs(tx, [...last.values()])
    })

  return {
    write(claim, level, message) {
      const text =
        message.length > MAX_LINE
          ? `${message.slice(0, MAX_LINE)}… [line cut at ${MAX_LINE} characters]`
          : message
      buffer.push({
        runId: claim.run.id,
        orgId: claim.run.org_id,
        token: claim.token,
        level,
        message: text,
        at: new Date(),
      })
      timer ??= setTimeout(flushNow, FLUSH_MS)
    },
    flush: flushNow,
    stop: flushNow,
  }
}
