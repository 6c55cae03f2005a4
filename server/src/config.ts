import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join, resolve } from 'node:path'
import { z } from 'zod'
import type { EgressSettings } from './egress'
import { parseEgressAllow } from './egress/allow'
import { coerceError } from './errors'
import type { ThrottleSettings } from './auth/throttle'
import type { DeliverySettings } from './reporters/worker'
import type { ResultLimits } from './warehouse/limits'

export const NodeRole = { API: 'api', WORKER: 'worker', SCHEDULER: 'scheduler' } as const
export type NodeRole = (typeof NodeRole)[keyof typeof NodeRole]
const ALL_ROLES: NodeRole[] = ['api', 'worker', 'scheduler']

export interface Config {
  readonly port: number
  readonly host: string
  readonly databaseUrl: string | undefined
  readonly dataDir: string
  readonly secretKey: Buffer
  readonly publicUrl: string
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** SWITCHYARD_LOG_FORMAT: `auto` is human-readable on a terminal and JSON otherwise. */
  readonly logFormat: 'auto' | 'pretty' | 'json'
  readonly roles: readonly NodeRole[]
  readonly workerConcurrency: number
  readonly adminEmail: string | undefined
  readonly adminPassword: string | undefined
  readonly seedDemo: boolean
  readonly leaseMs: number
  readonly pollMs: number
  readonly triggers: TriggerSettings
  readonly files: FileLimits
  readonly egress: EgressSettings
  readonly sandbox: SandboxSettings
  readonly warehouse: WarehouseSettings
  /** Extra origins whose pages may open a cookie-authenticated WebSocket (SWITCHYARD_ALLOWED_ORIGINS). */
  readonly allowedOrigins: readonly string[]
  /** GraphiQL and introspection (SWITCHYARD_GRAPHIQL; switch off in production). */
  readonly graphiql: boolean
  readonly login: ThrottleSettings
  /** Reporter deliveries (SWITCHYARD_DELIVERY_*). */
  readonly deliveries: DeliverySettings
}

/** Where organizations' warehouses live and what a statement may bring back (SWITCHYARD_WAREHOUSE_*, SWITCHYARD_MAX_RESULT_*). */
export interface WarehouseSettings {
  /**
   * A server whose role may create databases and roles, for the warehouses;
   * unset: the platform's own server (DATABASE_URL), or PGlite when that is unset too.
   */
  readonly url: string | undefined
  /** An embedded warehouse (a PGlite worker) idle this long is closed, freeing its memory. */
  readonly idleMs: number
  /** Rows one statement's result may have, read or kept; more fails the statement. */
  readonly maxResultRows: number
  /** Bytes (values as text) one statement's result may bring to the node; more fails the statement. */
  readonly maxResultBytes: number
}

/** How scripts are contained (SWITCHYARD_SANDBOX, SWITCHYARD_SCRIPT_DIRECT_NETWORK). */
export interface SandboxSettings {
  /**
   * `auto`: own network and pid namespaces through bubblewrap where it works, else none;
   * `bwrap`: bubblewrap or the start fails; `none`: no namespaces.
   */
  readonly mode: 'auto' | 'bwrap' | 'none'
  /** Without namespaces, scripts get no network unless this is set (and then reach anything). */
  readonly directNetwork: boolean
  /** Warm sandbox processes kept per language and memory cap (SWITCHYARD_SCRIPT_POOL_SIZE); 0: none. */
  readonly warm: number
  /** A language and memory cap without a script this long has its warm processes stopped. */
  readonly warmIdleMs: number
}

/** Scheduler and trigger limits (SWITCHYARD_SCHEDULER_*, SWITCHYARD_TRIGGER_*, SWITCHYARD_WEBHOOK_*). */
export interface TriggerSettings {
  /** Longest sleep between two scheduler passes. */
  readonly tickMs: number
  /** CRON ticks (overlap ALLOW, no mutex) are queued this far ahead, due at their time. */
  readonly lookaheadMs: number
  /** A tick older than this when handled counts as missed (no scheduler ran). */
  readonly misfireMs: number
  /** A tick handled later than this is recorded as LATE. */
  readonly lateMs: number
  readonly minIntervalSeconds: number
  readonly webhookMaxBodyBytes: number
  readonly webhookRatePerMinute: number
  readonly webhookMaxWaitSeconds: number
}

/**
 * Caps on what one run may read from a CSV or XLSX file (SWITCHYARD_MAX_*):
 * going over one fails the run with a message naming the variable to raise,
 * and keeps the node's memory bounded whatever the file holds.
 */
export interface FileLimits {
  /** Bytes of the file as read (an upload, a download, a stored file); also the upload limit. */
  readonly maxFileBytes: number
  /** Rows (records, header and bad rows included) read from one file. */
  readonly maxFileRows: number
  /** One value: a CSV field, an XLSX cell or shared string. */
  readonly maxCellBytes: number
  /** One row: a CSV record, the values of an XLSX row. */
  readonly maxRowBytes: number
  /** XLSX: all shared strings together, which must be held in memory while the sheet is read. */
  readonly maxXlsxSharedStringsBytes: number
  /** XLSX: bytes the zip entries expand to (a zip bomb stops here). */
  readonly maxXlsxExpandedBytes: number
}

/** The variable that sets each file cap: one source for the parser, the messages and the README. */
export const FILE_LIMIT_VARIABLES = {
  maxFileBytes: 'SWITCHYARD_MAX_FILE_BYTES',
  maxFileRows: 'SWITCHYARD_MAX_FILE_ROWS',
  maxCellBytes: 'SWITCHYARD_MAX_CELL_BYTES',
  maxRowBytes: 'SWITCHYARD_MAX_ROW_BYTES',
  maxXlsxSharedStringsBytes: 'SWITCHYARD_MAX_XLSX_SHARED_STRINGS_BYTES',
  maxXlsxExpandedBytes: 'SWITCHYARD_MAX_XLSX_EXPANDED_BYTES',
} as const satisfies Record<keyof FileLimits, string>

const MiB = 1024 * 1024
const GiB = 1024 * MiB
const cap = (min: number, max: number, byDefault: number) =>
  z.coerce.number().int().min(min).max(max).default(byDefault)

const fileLimitsSchema = {
  [FILE_LIMIT_VARIABLES.maxFileBytes]: cap(1024, 1024 * GiB, 2 * GiB),
  [FILE_LIMIT_VARIABLES.maxFileRows]: cap(1, 10_000_000_000, 100_000_000),
  [FILE_LIMIT_VARIABLES.maxCellBytes]: cap(1024, GiB, 4 * MiB),
  [FILE_LIMIT_VARIABLES.maxRowBytes]: cap(1024, GiB, 16 * MiB),
  [FILE_LIMIT_VARIABLES.maxXlsxSharedStringsBytes]: cap(1024, 16 * GiB, 64 * MiB),
  [FILE_LIMIT_VARIABLES.maxXlsxExpandedBytes]: cap(1024, 1024 * GiB, GiB),
} as const

type FileLimitsEnv = z.output<z.ZodObject<typeof fileLimitsSchema>>

function fileLimitsOf(e: FileLimitsEnv): FileLimits {
  return Object.freeze({
    maxFileBytes: e[FILE_LIMIT_VARIABLES.maxFileBytes],
    maxFileRows: e[FILE_LIMIT_VARIABLES.maxFileRows],
    maxCellBytes: e[FILE_LIMIT_VARIABLES.maxCellBytes],
    maxRowBytes: e[FILE_LIMIT_VARIABLES.maxRowBytes],
    maxXlsxSharedStringsBytes: e[FILE_LIMIT_VARIABLES.maxXlsxSharedStringsBytes],
    maxXlsxExpandedBytes: e[FILE_LIMIT_VARIABLES.maxXlsxExpandedBytes],
  })
}

/** The file caps with no variable set, for code that runs without a Config (tools, unit tests). */
export const defaultFileLimits = (): FileLimits => fileLimitsOf(z.object(fileLimitsSchema).parse({}))

/** The result caps with no variable set (SWITCHYARD_MAX_RESULT_*), for code that runs without a Config. */
export const defaultResultLimits = (): ResultLimits => ({
  maxRows: envSchema.shape.SWITCHYARD_MAX_RESULT_ROWS.parse(undefined),
  maxBytes: envSchema.shape.SWITCHYARD_MAX_RESULT_BYTES.parse(undefined),
})

const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no'])
  .transform((v) => v === '1' || v === 'true' || v === 'yes')

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
    .optional(),
  SWITCHYARD_DATA_DIR: z.string().min(1).default('.switchyard'),
  SWITCHYARD_SECRET_KEY: z
    .string()
    .min(32, 'must be at least 32 characters (openssl rand -base64 32)')
    .optional(),
  SWITCHYARD_PUBLIC_URL: z.url().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SWITCHYARD_LOG_FORMAT: z.enum(['auto', 'pretty', 'json']).default('auto'),
  SWITCHYARD_ROLES: z.string().optional(),
  SWITCHYARD_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(16),
  SWITCHYARD_ADMIN_EMAIL: z.email().optional(),
  SWITCHYARD_ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
  SWITCHYARD_SEED_DEMO: bool.default(true),
  SWITCHYARD_LEASE_MS: z.coerce.number().int().min(1000).max(3_600_000).default(30_000),
  SWITCHYARD_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(2_000),
  SWITCHYARD_SCHEDULER_TICK_MS: z.coerce.number().int().min(10).max(60_000).default(1_000),
  SWITCHYARD_SCHEDULER_LOOKAHEAD_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
  SWITCHYARD_SCHEDULER_MISFIRE_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(60_000),
  SWITCHYARD_SCHEDULER_LATE_MS: z.coerce.number().int().min(1).max(3_600_000).default(1_000),
  SWITCHYARD_TRIGGER_MIN_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(10),
  SWITCHYARD_WEBHOOK_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(100_000_000).default(262_144),
  SWITCHYARD_WEBHOOK_RATE_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(120),
  SWITCHYARD_WEBHOOK_MAX_WAIT_SECONDS: z.coerce.number().int().min(0).max(3_600).default(120),
  ...fileLimitsSchema,
  SWITCHYARD_EGRESS_ALLOW: z.string().default(''),
  SWITCHYARD_MAX_HTTP_RESPONSE_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(1_073_741_824)
    .default(10_485_760),
  SWITCHYARD_MAX_DOWNLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(1_099_511_627_776)
    .default(1_073_741_824),
  SWITCHYARD_SANDBOX: z.enum(['auto', 'bwrap', 'none']).default('auto'),
  SWITCHYARD_SCRIPT_DIRECT_NETWORK: bool.default(false),
  SWITCHYARD_SCRIPT_POOL_SIZE: z.coerce.number().int().min(0).max(64).default(2),
  SWITCHYARD_SCRIPT_POOL_IDLE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  SWITCHYARD_WAREHOUSE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
    .optional(),
  SWITCHYARD_WAREHOUSE_IDLE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  SWITCHYARD_MAX_RESULT_ROWS: z.coerce.number().int().min(1).max(100_000_000).default(1_000_000),
  SWITCHYARD_MAX_RESULT_BYTES: z.coerce.number().int().min(1024).max(1_073_741_824).default(67_108_864),
  SWITCHYARD_ALLOWED_ORIGINS: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'each must be an origin like https://bi.example.com')),
    ),
  SWITCHYARD_GRAPHIQL: bool.default(true),
  SWITCHYARD_LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).max(10_000).default(10),
  SWITCHYARD_LOGIN_MAX_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).max(1_000_000).default(100),
  SWITCHYARD_LOGIN_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(900),
  SWITCHYARD_DELIVERY_CONCURRENCY: z.coerce.number().int().min(0).max(1000).default(8),
  SWITCHYARD_DELIVERY_LEASE_MS: z.coerce.number().int().min(1000).max(3_600_000).default(120_000),
  SWITCHYARD_DELIVERY_BACKOFF_MS: z.coerce.number().int().min(10).max(3_600_000).default(10_000),
  SWITCHYARD_DELIVERY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
})

/** Thrown when the environment is invalid; main() prints it and exits. */
export class ConfigError extends Error {}

function parseRoles(raw: string | undefined): NodeRole[] {
  if (!raw || raw === 'all') return ALL_ROLES
  const roles = raw.split(',').map((r) => r.trim())
  for (const r of roles) {
    if (!ALL_ROLES.includes(r as NodeRole)) {
      throw new ConfigError(
        `SWITCHYARD_ROLES / --role: unknown role "${r}"; use api, worker, scheduler or all`,
      )
    }
  }
  return roles as NodeRole[]
}

/**
 * Parses the environment once into a frozen, typed Config. A bad value stops the
 * start with a message naming the variable. `roleOverride` comes from `--role`.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, roleOverride?: string): Config {
  const parsed = envSchema.safeParse(env)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`)
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`)
  }
  const e = parsed.data
  const dataDir = resolve(e.SWITCHYARD_DATA_DIR)
  let secretKey: Buffer
  if (e.SWITCHYARD_SECRET_KEY) {
    secretKey = Buffer.from(e.SWITCHYARD_SECRET_KEY)
  } else if (e.DATABASE_URL) {
    throw new ConfigError(
      'SWITCHYARD_SECRET_KEY: must be set when DATABASE_URL is set, the same on every node (openssl rand -base64 32)',
    )
  } else {
    secretKey = embeddedSecretKey(dataDir)
  }
  const roles = parseRoles(roleOverride ?? e.SWITCHYARD_ROLES)
  if (!e.DATABASE_URL && roles.length !== ALL_ROLES.length) {
    throw new ConfigError(
      '--role / SWITCHYARD_ROLES: separate roles need DATABASE_URL; the embedded database runs all roles in one process',
    )
  }
  let allow: EgressSettings['allow']
  try {
    allow = parseEgressAllow(e.SWITCHYARD_EGRESS_ALLOW)
  } catch (err) {
    throw new ConfigError(`invalid configuration:\n  SWITCHYARD_EGRESS_ALLOW: ${coerceError(err).message}`)
  }
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir,
    secretKey,
    publicUrl: (e.SWITCHYARD_PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/$/, ''),
    logLevel: e.LOG_LEVEL,
    logFormat: e.SWITCHYARD_LOG_FORMAT,
    roles: Object.freeze(roles),
    workerConcurrency: e.SWITCHYARD_WORKER_CONCURRENCY,
    adminEmail: e.SWITCHYARD_ADMIN_EMAIL,
    adminPassword: e.SWITCHYARD_ADMIN_PASSWORD,
    seedDemo: e.SWITCHYARD_SEED_DEMO,
    leaseMs: e.SWITCHYARD_LEASE_MS,
    pollMs: e.SWITCHYARD_POLL_MS,
    allowedOrigins: Object.freeze(e.SWITCHYARD_ALLOWED_ORIGINS),
    graphiql: e.SWITCHYARD_GRAPHIQL,
    login: Object.freeze({
      accountFailures: e.SWITCHYARD_LOGIN_MAX_FAILURES,
      addressFailures: e.SWITCHYARD_LOGIN_MAX_FAILURES_PER_ADDRESS,
      windowSeconds: e.SWITCHYARD_LOGIN_WINDOW_SECONDS,
    }),
    triggers: Object.freeze({
      tickMs: e.SWITCHYARD_SCHEDULER_TICK_MS,
      lookaheadMs: e.SWITCHYARD_SCHEDULER_LOOKAHEAD_MS,
      misfireMs: e.SWITCHYARD_SCHEDULER_MISFIRE_MS,
      lateMs: e.SWITCHYARD_SCHEDULER_LATE_MS,
      minIntervalSeconds: e.SWITCHYARD_TRIGGER_MIN_INTERVAL_SECONDS,
      webhookMaxBodyBytes: e.SWITCHYARD_WEBHOOK_MAX_BODY_BYTES,
      webhookRatePerMinute: e.SWITCHYARD_WEBHOOK_RATE_PER_MINUTE,
      webhookMaxWaitSeconds: e.SWITCHYARD_WEBHOOK_MAX_WAIT_SECONDS,
    }),
    files: fileLimitsOf(e),
    egress: Object.freeze({
      allow,
      maxHttpResponseBytes: e.SWITCHYARD_MAX_HTTP_RESPONSE_BYTES,
      maxDownloadBytes: e.SWITCHYARD_MAX_DOWNLOAD_BYTES,
    }),
    sandbox: Object.freeze({
      mode: e.SWITCHYARD_SANDBOX,
      directNetwork: e.SWITCHYARD_SCRIPT_DIRECT_NETWORK,
      warm: e.SWITCHYARD_SCRIPT_POOL_SIZE,
      warmIdleMs: e.SWITCHYARD_SCRIPT_POOL_IDLE_SECONDS * 1000,
    }),
    deliveries: Object.freeze({
      concurrency: e.SWITCHYARD_DELIVERY_CONCURRENCY,
      leaseMs: e.SWITCHYARD_DELIVERY_LEASE_MS,
      backoffMs: e.SWITCHYARD_DELIVERY_BACKOFF_MS,
      maxAttempts: e.SWITCHYARD_DELIVERY_MAX_ATTEMPTS,
      pollMs: Math.max(e.SWITCHYARD_POLL_MS, 1000),
    }),
    warehouse: Object.freeze({
      url: e.SWITCHYARD_WAREHOUSE_URL,
      idleMs: e.SWITCHYARD_WAREHOUSE_IDLE_SECONDS * 1000,
      maxResultRows: e.SWITCHYARD_MAX_RESULT_ROWS,
      maxResultBytes: e.SWITCHYARD_MAX_RESULT_BYTES,
    }),
  })
}

/** The embedded mode keeps a generated key beside its data, so restarts can decrypt. */
function embeddedSecretKey(dataDir: string): Buffer {
  const file = join(dataDir, 'secret.key')
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true })
    writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' })
  }
  return Buffer.from(readFileSync(file, 'utf8').trim())
}
