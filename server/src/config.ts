import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join, resolve } from 'node:path'
import { z } from 'zod'
import type { ThrottleSettings } from './auth/throttle'

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
  readonly roles: readonly NodeRole[]
  readonly workerConcurrency: number
  readonly adminEmail: string | undefined
  readonly adminPassword: string | undefined
  readonly seedDemo: boolean
  readonly leaseMs: number
  readonly pollMs: number
  readonly triggers: TriggerSettings
  /** Extra origins whose pages may open a cookie-authenticated WebSocket (SWITCHYARD_ALLOWED_ORIGINS). */
  readonly allowedOrigins: readonly string[]
  /** GraphiQL and introspection (SWITCHYARD_GRAPHIQL; switch off in production). */
  readonly graphiql: boolean
  readonly login: ThrottleSettings
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
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir,
    secretKey,
    publicUrl: (e.SWITCHYARD_PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/$/, ''),
    logLevel: e.LOG_LEVEL,
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
