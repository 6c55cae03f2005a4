import { fileURLToPath } from 'node:url'
import { Logger, type Runner, type RunnerOptions, type TaskList, makeWorkerUtils, run } from 'graphile-worker'
import PgBoss from 'pg-boss'
import { packageVersion } from './switchyard'

const silent = new Logger(() => () => {})

const nodeModules = fileURLToPath(new URL('../../node_modules', import.meta.url))
export const GRAPHILE_VERSION = packageVersion(`${nodeModules}/graphile-worker/package.json`)
export const PGBOSS_VERSION = packageVersion(`${nodeModules}/pg-boss/package.json`)

export interface GraphileOptions {
  concurrency: number
  pollInterval?: number
  /** Batched mode: localQueue size (jobs fetched per query) and completeJobBatchDelay. */
  batched?: { localQueueSize: number; completeJobBatchDelay: number }
  maxPoolSize?: number
}

/** Migrates graphile-worker's schema into the database (so jobs can be added before a runner starts). */
export async function graphileUtils(url: string) {
  const utils = await makeWorkerUtils({ connectionString: url, logger: silent })
  await utils.migrate()
  return utils
}

/** Starts a graphile-worker runner in this process, without signal handlers or logs. */
export function graphileRunner(url: string, taskList: TaskList, o: GraphileOptions): Promise<Runner> {
  const options: RunnerOptions = {
    connectionString: url,
    concurrency: o.concurrency,
    noHandleSignals: true,
    pollInterval: o.pollInterval ?? 2000,
    taskList,
    crontab: '',
    logger: silent,
    ...(o.maxPoolSize ? { maxPoolSize: o.maxPoolSize } : {}),
    ...(o.batched
      ? {
          preset: {
            worker: {
              localQueue: { size: o.batched.localQueueSize },
              completeJobBatchDelay: o.batched.completeJobBatchDelay,
              failJobBatchDelay: o.batched.completeJobBatchDelay,
            },
          },
        }
      : {}),
  }
  return run(options)
}

export function describeGraphile(o: GraphileOptions): string {
  const mode = o.batched
    ? `batched: localQueue.size=${o.batched.localQueueSize}, completeJobBatchDelay=${o.batched.completeJobBatchDelay}`
    : 'unbatched'
  return `graphile-worker ${GRAPHILE_VERSION}, concurrency ${o.concurrency}, pollInterval ${o.pollInterval ?? 2000} ms, ${mode}`
}

/** Starts pg-boss without its maintenance and cron loops (they would only add noise). */
export async function startBoss(url: string, max = 10): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: url,
    max,
    supervise: false,
    schedule: false,
    migrate: true,
  })
  boss.on('error', () => {})
  await boss.start()
  return boss
}

export async function stopBoss(boss: PgBoss): Promise<void> {
  await boss.stop({ graceful: true, wait: true, close: true, timeout: 10_000 })
}
