import { coerceError } from '../errors'
import type { Logger } from '../log'
import type { Engine } from './engine'

/**
 * Periodically recovers runs whose worker died and times out chains past their
 * deadline. Every worker node runs one; SKIP LOCKED keeps them out of each other's way.
 */
export function startSweeper(opts: { engine: Engine; log: Logger; everyMs: number }): {
  stop(): Promise<void>
} {
  let running: Promise<void> | undefined
  const tick = () => {
    running ??= (async () => {
      try {
        const { recovered } = await opts.engine.recover()
        if (recovered > 0) opts.log.warn({ recovered }, 'recovered runs from lost workers')
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
