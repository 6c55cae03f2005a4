import { join } from 'node:path'
import { createLoginThrottle } from './auth/throttle'
import type { Config } from './config'
import { uploadHandler } from './data/files/upload-route'
import { createDataServices } from './data/services'
import { type Database, openDatabase } from './db/database'
import { createEgress } from './egress'
import { migrate } from './db/migrate'
import { type EventBus, startEventBus } from './events/bus'
import { createSharedExecution } from './graphql/shared-execution'
import { createGraphQL } from './graphql/yoga'
import { type HttpServer, startHttpServer } from './http/server'
import type { Logger } from './log'
import { type Engine, createEngine } from './engine/engine'
import { startSweeper } from './engine/sweeper'
import { type Worker, startWorker } from './engine/worker'
import { resolveChildToRun } from './automations/access'
import { getKind, listKinds } from './kinds/registry'
import { printOnce, runUpdatedShareKey } from './runs/live-selection'
import { createRunReads } from './runs/reads'
import { createSandboxPool, describeIsolation, resolveIsolation } from './sandbox'
import { startScheduler } from './scheduler/scheduler'
import { type SeedResult, seedFirstStart } from './seed'
import type { Services } from './services'
import { installTriggerHooks } from './triggers/after-automation'
import { createWebhookHandler } from './triggers/webhook'
import { moveLegacyWarehouses } from './warehouse/legacy'
import { createWarehouse } from './warehouse/warehouse'
import { installReporterHooks } from './reporters/install'
import { startDeliveryWorker } from './reporters/worker'

export interface App {
  readonly services: Services
  /** Port the API listens on (when the api role runs). */
  readonly port: number | undefined
  readonly url: string | undefined
  readonly seed: SeedResult
  /** First call drains (in-flight requests and runs finish); graceMs bounds the wait for runs. */
  stop(graceMs?: number): Promise<void>
}

/**
 * Starts the roles this node runs (api, worker, scheduler) against the
 * configured database. Every role is stateless: all state is in PostgreSQL.
 */
export async function startApp(config: Config, log: Logger, opts: { db?: Database } = {}): Promise<App> {
  // First: SWITCHYARD_SANDBOX=bwrap on a host that cannot must stop the start before anything opens.
  const isolation = resolveIsolation(config.sandbox)
  const db =
    opts.db ??
    (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: join(config.dataDir, 'pgdata') }))
  const applied = await migrate(db)
  if (applied.length > 0) log.info({ applied }, 'applied migrations')
  const seed = await seedFirstStart(db, config, log)
  const bus: EventBus = await startEventBus(db, log)
  const engine: Engine = createEngine({
    db,
    log,
    kinds: getKind,
    // A chain checks each child against its run-as user as it starts it (grants change after a save).
    resolveChild: resolveChildToRun,
    childReaderKinds: listKinds().flatMap((k) => (k.orchestrator?.readsChildren ? [k.kind] : [])),
  })
  const resultLimits = { maxRows: config.warehouse.maxResultRows, maxBytes: config.warehouse.maxResultBytes }
  const warehouse = createWarehouse({
    db,
    secretKey: config.secretKey,
    serverUrl: config.warehouse.url ?? config.databaseUrl,
    // Warehouses follow the platform: in memory when it is (tests), else a directory each.
    dataDir: db.dataDir?.startsWith('memory://') ? 'memory://' : join(config.dataDir, 'warehouses'),
    idleMs: config.warehouse.idleMs,
    limits: resultLimits,
  })
  const moved = await moveLegacyWarehouses(db, warehouse, log)
  if (moved > 0) log.info({ tables: moved }, 'moved legacy warehouse tables into per-organization warehouses')
  const egress = createEgress(config.egress)
  const data = createDataServices({
    db,
    warehouse,
    secretKey: config.secretKey,
    egress,
    fileLimits: config.files,
    resultLimits,
  })
  const loginThrottle = createLoginThrottle(db, config.login)
  const services: Services = {
    db,
    config,
    log,
    engine,
    bus,
    data,
    loginThrottle,
    runReads: createRunReads(db),
    sharedExecution: createSharedExecution(runUpdatedShareKey(printOnce())),
  }
  const sandbox = createSandboxPool({
    warm: config.roles.includes('worker') ? config.sandbox.warm : 0,
    warmIdleMs: config.sandbox.warmIdleMs,
    isolation,
    egress,
  })
  log.info({ isolation: isolation.mode }, describeIsolation(isolation, true))
  if (config.egress.allow.entries.length > 0)
    log.info({ allow: config.egress.allow.entries }, 'egress: allowed beyond public addresses')
  const stops: (() => Promise<void>)[] = []
  const triggerHooks = await installTriggerHooks(engine, db, log)
  const reporterHooks = await installReporterHooks(engine, db, log, {
    maxAttempts: config.deliveries.maxAttempts,
  })

  let http: HttpServer | undefined
  if (config.roles.includes('api')) {
    const yoga = createGraphQL(services)
    const { dashboardHandler } = await import('./http/dashboard')
    http = await startHttpServer(services, yoga, {
      port: config.port,
      host: config.host,
      dashboard: await dashboardHandler(log),
      uploads: uploadHandler(services),
      hooks: createWebhookHandler(services),
    })
    stops.push(() => http!.stop())
  }
  let worker: Worker | undefined
  if (config.roles.includes('worker')) {
    worker = startWorker({
      db,
      engine,
      kinds: getKind,
      bus,
      log,
      services: { db, log, sandbox, warehouse, data },
      concurrency: config.workerConcurrency,
      leaseMs: config.leaseMs,
      pollMs: config.pollMs,
    })
    const sweeper = startSweeper({ engine, log, everyMs: Math.max(250, Math.floor(config.leaseMs / 3)) })
    stops.push(async () => {
      await sweeper.stop()
    })
    if (config.deliveries.concurrency > 0) {
      const deliveries = startDeliveryWorker({
        services: {
          db,
          egress,
          warehouse,
          secretsKey: data.secretsKey,
          // Read when sending: PORT=0 learns its URL only once the api listens.
          get publicUrl() {
            return services.config.publicUrl
          },
        },
        log,
        settings: config.deliveries,
      })
      stops.push(() => deliveries.stop())
    }
  }
  if (config.roles.includes('scheduler')) {
    const scheduler = await startScheduler({
      db,
      engine,
      log,
      settings: config.triggers,
      warehouse,
      sandbox,
      data,
    })
    stops.push(() => scheduler.stop())
  }
  stops.push(() => triggerHooks.stop())
  stops.push(() => reporterHooks.stop())
  const url = http ? config.publicUrl.replace(`:${config.port}`, `:${http.port}`) : undefined
  if (url && url !== config.publicUrl) {
    // PORT=0 binds any free port: URLs the API hands out (webhooks) must name the one bound.
    ;(services as { config: Config }).config = Object.freeze({ ...config, publicUrl: url })
  }
  let stopping: Promise<void> | undefined
  return {
    services,
    port: http?.port,
    url,
    seed,
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        // Order matters: stop taking requests, let runs finish, then close the database.
        for (const s of stops) await s().catch((err) => log.warn({ err }, 'stopping a component failed'))
        if (worker) await worker.stop(graceMs)
        await sandbox.stop()
        await egress.close()
        await warehouse.stop()
        await bus.stop()
        if (!opts.db) await db.close()
      })()
      return stopping
    },
  }
}
