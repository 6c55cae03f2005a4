import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SERVER_NODE_FLAGS } from '../../../server/bin/node-flags.mjs'
import { type App, startApp } from '../../../server/src/app'
import type { Definition } from '../../../server/src/automations/definition'
import { loadConfig } from '../../../server/src/config'
import { type Database, type Queryable, openDatabase } from '../../../server/src/db/database'
import { migrate } from '../../../server/src/db/migrate'
import { createLogger } from '../../../server/src/log'
import { type Engine, createEngine } from '../../../server/src/engine/engine'
import { queueSyncOf } from '../../../server/src/engine/run-queue'
import type { NewRun } from '../../../server/src/engine/types'
import { getKind } from '../../../server/src/kinds/registry'
import { seedFirstStart } from '../../../server/src/seed'
import { type Counts, countingDatabase } from './counting'

/**
 * Where spawned nodes run `src/main.ts` from: this checkout's server/, or BENCH_SERVER_DIR (another
 * copy of server/ with its node_modules, e.g. a patched one, to compare two versions on one database).
 */
export const SERVER_DIR =
  process.env.BENCH_SERVER_DIR ?? fileURLToPath(new URL('../../../server', import.meta.url))
export const BENCH_SECRET_KEY = 'bench-secret-key-bench-secret-key-0123456789'
export const ADMIN_EMAIL = 'admin@bench.test'
export const ADMIN_PASSWORD = 'bench-admin-password'

/** The environment every Switchyard node of a benchmark starts with. */
export function benchEnv(databaseUrl: string, dataDir: string, extra: Record<string, string> = {}) {
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    SWITCHYARD_SECRET_KEY: BENCH_SECRET_KEY,
    SWITCHYARD_DATA_DIR: dataDir,
    SWITCHYARD_ADMIN_EMAIL: ADMIN_EMAIL,
    SWITCHYARD_ADMIN_PASSWORD: ADMIN_PASSWORD,
    SWITCHYARD_SEED_DEMO: 'false',
    LOG_LEVEL: 'silent',
    ...extra,
  }
}

export interface Automation {
  id: string
  versionId: string
  version: number
  definition: Definition
}

/** A migrated, seeded database with its organization and first admin, ready for automations. */
export interface Prepared {
  db: Database
  /** The engine an app on this database would have (enqueue goes through it). */
  engine: Engine
  orgId: string
  adminId: string
  dataDir: string
  url: string
  createAutomation(input: {
    name: string
    kind: string
    config: unknown
    mutex?: { name: string; policy: 'QUEUE' | 'SKIP' | 'REPLACE_QUEUED' | 'CANCEL_RUNNING' } | null
  }): Promise<Automation>
  /** What engine.enqueue takes to run `a` now, as an API trigger by the admin. */
  newRun(a: Automation): NewRun
  close(): Promise<void>
}

/**
 * Migrates and seeds a database the way the first start of a server does, and
 * inserts automations the way seed.ts does (one automation, one version).
 */
/**
 * Queues `n` due runs of a NOOP automation in one statement, as a backlog left by an outage
 * would be: rows in runs and in the hot queue, without going through the engine.
 */
export async function queueNoopRuns(
  q: Queryable,
  p: Pick<Prepared, 'orgId' | 'adminId'>,
  automation: { id: string; versionId: string },
  n: number,
): Promise<void> {
  await q.query(
    `with inserted as (
       insert into runs (org_id, automation_id, version_id, version, kind, state, trigger_source, triggered_by,
         run_as, max_attempts, parameters)
       select $1, $2, $3, 1, 'NOOP', 'QUEUED', 'API', $4, $4, 1, '{}'::jsonb from generate_series(1, $5::int)
       returning id, org_id, state, priority, run_at, mutex_name, lease_owner, lease_expires_at, deadline_at
     ), ${queueSyncOf('inserted')} select count(*) from inserted`,
    [p.orgId, automation.id, automation.versionId, p.adminId, n],
  )
}

export async function prepare(url: string, pool = 10): Promise<Prepared> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sy-bench-'))
  const db = await openDatabase({ databaseUrl: url, max: pool })
  await migrate(db)
  const config = loadConfig(benchEnv(url, dataDir))
  await seedFirstStart(db, config, createLogger('silent'))
  const [admin] = await db.query<{ id: string; org_id: string }>(
    'select id, org_id from users where email = $1',
    [ADMIN_EMAIL],
  )
  if (!admin) throw new Error('the seed created no admin')
  const orgId = admin.org_id
  const engine = createEngine({ db, log: createLogger('silent'), kinds: getKind })
  return {
    engine,
    db,
    orgId,
    adminId: admin.id,
    dataDir,
    url,
    async createAutomation({ name, kind, config: kindConfig, mutex = null }) {
      const definition: Definition = {
        name,
        kind,
        config: kindConfig,
        parameters: [],
        timeoutMs: null,
        retry: { maxAttempts: 1, backoffMs: 1000 },
        mutex,
        runAsUserId: null,
        allowAllUsersToRun: false,
        folderId: null,
      }
      return db.transaction(async (tx) => {
        const [a] = await tx.query<{ id: string }>(
          'insert into automations (org_id, name, kind, created_by) values ($1, $2, $3, $4) returning id',
          [orgId, name, kind, admin.id],
        )
        const [v] = await tx.query<{ id: string }>(
          `insert into automation_versions (org_id, automation_id, version, definition, created_by)
           values ($1, $2, 1, $3::text::jsonb, $4) returning id`,
          [orgId, a!.id, JSON.stringify(definition), admin.id],
        )
        await tx.query('update automations set current_version_id = $2 where id = $1', [a!.id, v!.id])
        return { id: a!.id, versionId: v!.id, version: 1, definition }
      })
    },
    newRun(a) {
      return {
        orgId,
        automationId: a.id,
        versionId: a.versionId,
        version: a.version,
        definition: a.definition,
        triggerSource: 'API',
        triggeredBy: admin.id,
        runAs: admin.id,
        parameters: {},
      }
    },
    async close() {
      await db.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

export interface InProcess {
  app: App
  /** Statements and transactions the app sent through its pool since the last reset. */
  counts: Counts
  resetCounts(): void
  stop(): Promise<void>
}

/**
 * Starts the app in this process (roles and concurrency as given) on the prepared
 * database, with a pool of its own whose statements are counted.
 */
export async function startInProcess(
  p: Prepared,
  opts: { roles: string; concurrency?: number; pollMs?: number; pool?: number },
): Promise<InProcess> {
  const config = loadConfig(
    benchEnv(p.url, p.dataDir, {
      SWITCHYARD_ROLES: opts.roles,
      SWITCHYARD_WORKER_CONCURRENCY: String(opts.concurrency ?? 16),
      ...(opts.pollMs ? { SWITCHYARD_POLL_MS: String(opts.pollMs) } : {}),
    }),
  )
  const inner = await openDatabase({ databaseUrl: p.url, max: opts.pool ?? 10 })
  const counting = countingDatabase(inner)
  const app = await startApp(config, createLogger('silent'), { db: counting.db })
  counting.reset()
  return {
    app,
    counts: counting.counts,
    resetCounts: counting.reset,
    async stop() {
      await app.stop(2000)
      await inner.close()
    },
  }
}

export interface Node {
  readonly pid: number
  /** Port of the api role, if it runs one. */
  readonly port: number | undefined
  /** Resident set size of the node process itself (not its sandboxes), from /proc. */
  rss(): number
  /** SIGTERM (drain), then SIGKILL after graceMs; true when it had to be killed (it did not drain in time). */
  stop(graceMs?: number): Promise<boolean>
}

/** Starts `node --import tsx server/src/main.ts --role <roles>` and waits for SWITCHYARD_READY. */
export async function spawnNode(
  p: { url: string; dataDir: string },
  opts: {
    roles: string
    concurrency?: number
    extraEnv?: Record<string, string>
    nodeArgs?: string[]
    /** Sees everything the node writes (stdout and stderr), e.g. to echo it while debugging. */
    onOutput?: (chunk: string) => void
    /** Run the build in dist/ (`npm start`; build it first) instead of src/ through tsx. */
    built?: boolean
    /** On the embedded default (PGlite under the node's data directory) instead of DATABASE_URL. */
    embedded?: boolean
  },
): Promise<Node> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    ...benchEnv(p.url, p.dataDir, {
      SWITCHYARD_WORKER_CONCURRENCY: String(opts.concurrency ?? 16),
      ...opts.extraEnv,
    }),
  }
  if (opts.embedded) delete env.DATABASE_URL
  const entry = opts.built ? ['dist/main.js'] : ['--import', 'tsx', 'src/main.ts']
  const child: ChildProcess = spawn(
    process.execPath,
    [...SERVER_NODE_FLAGS, ...(opts.nodeArgs ?? []), ...entry, '--role', opts.roles],
    {
      cwd: SERVER_DIR,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const port = await new Promise<number | undefined>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`switchyard node did not start in 60 s:\n${output.slice(-2000)}`))
    }, 60_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      opts.onOutput?.(chunk.toString())
      const m = /SWITCHYARD_READY(?: port=(\d+))?/.exec(output)
      if (m) {
        clearTimeout(timer)
        resolve(m[1] ? Number(m[1]) : undefined)
      }
    })
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      opts.onOutput?.(chunk.toString())
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`switchyard node exited (${code}) before it was ready:\n${output.slice(-2000)}`))
    })
  })
  return {
    pid: child.pid!,
    port,
    rss: () => rssOf(child.pid!),
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return false
      child.kill('SIGTERM')
      let killed = false
      const timer = setTimeout(() => {
        killed = true
        child.kill('SIGKILL')
      }, graceMs)
      await exited
      clearTimeout(timer)
      return killed
    },
  }
}

/** VmRSS of a process in bytes (Linux), NaN when unavailable. */
export function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const m = /VmRSS:\s+(\d+) kB/.exec(status)
    return m ? Number(m[1]) * 1024 : Number.NaN
  } catch {
    return Number.NaN
  }
}

/** POSTs one GraphQL operation to a node. */
export async function gql<T>(
  baseUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<{ data?: T; errors?: { message: string }[] }> {
  const res = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  })
  return (await res.json()) as { data?: T; errors?: { message: string }[] }
}

/** Logs the bench admin in and returns its bearer token. */
export async function login(baseUrl: string): Promise<string> {
  const r = await gql<{ login: { token?: string; message?: string } }>(
    baseUrl,
    'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { ... on LoginPayload { token } ... on Error { message } } }',
    { e: ADMIN_EMAIL, p: ADMIN_PASSWORD },
  )
  const token = r.data?.login.token
  if (!token) throw new Error(`login failed: ${JSON.stringify(r)}`)
  return token
}

/** Polls `check` every `everyMs` until it returns true, failing after timeoutMs. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

/** The server's package versions for the "measured against" lines. */
export function packageVersion(pkgJson: string): string {
  try {
    return (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version
  } catch {
    return '?'
  }
}

/** SQL for a timestamptz column as float8 milliseconds since the epoch (drivers differ on Dates). */
export const epochMs = (column: string): string => `(extract(epoch from ${column}) * 1000)::float8`
