import type { Database } from '../db/database'
import { coerceError } from '../errors'
import type { Logger } from '../log'
import { expireDeadlines, recoverExpiredLeases } from '../queue/leases'

/**
 * Periodically recovers runs whose worker died and times out chains past their
 * deadline. Every worker node runs one; SKIP LOCKED keeps them out of each other's way.
 */
export function startSweeper(opts: { db: Database; log: Logger; everyMs: number }): {
  stop(): Promise<void>
} {
  let running: Promise<void> | undefined
  const tick = () => {
    running ??= (async () => {
      try {
        const recovered = await recoverExpiredLeases(opts.db)
        if (recovered > 0) opts.log.warn({ recovered }, 'recovered runs from lost workers')
        await expireDeadlines(opts.db)
      } catch (err) {
        opts.log.warn({ err: coerceError(err) }, 'sweeping leases failed')
      } finally {
        running = undefined
      }
    })()
  }
  const timer = setInterval(tick, opts.everyMs)
  tick()
  return {
    async stop() {
      clearInterval(timer)
      await running
    },
  }
}
