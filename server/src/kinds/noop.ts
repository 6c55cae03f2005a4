import { z } from 'zod'
import { defineKind } from './kind'

/** Does nothing (optionally sleeps): for benchmarks and tests of the engine itself. */
export const noop = defineKind({
  kind: 'NOOP',
  description: 'Does nothing; optionally waits, logs or fails. For testing pipelines.',
  configSchema: z.object({
    sleepMs: z.number().int().min(0).max(3_600_000).default(0),
    fail: z.string().max(1000).optional(),
    log: z.string().max(1000).optional(),
  }),
  async execute(ctx) {
    // The signal is read only when there is something to abort (reading it makes it).
    const { config, log } = ctx
    // The pid tells which process executed the run (fault tests count executions per process).
    if (config.log) log('INFO', `${config.log} (pid ${process.pid})`)
    if (config.sleepMs > 0) {
      const signal = ctx.signal
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, config.sleepMs)
        signal.addEventListener('abort', () => {
          clearTimeout(t)
          reject(signal.reason)
        })
      })
    }
    if (config.fail) throw new Error(config.fail)
    return { outputs: {} }
  },
})
