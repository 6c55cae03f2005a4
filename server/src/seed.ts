import { freshSchedule, insertTrigger } from './triggers/store'
import { randomBytes } from 'node:crypto'
import { hashPassword } from './auth/password'
import type { Config } from './config'
import type { Database } from './db/database'
import type { Logger } from './log'

export interface SeedResult {
  created: boolean
  adminEmail?: string
  /** Set only when the password was generated (shown once on the console). */
  generatedPassword?: string
}

/**
 * On the first start of an installation: a demo organization, its first admin
 * (from SWITCHYARD_ADMIN_EMAIL/PASSWORD or generated), two folders and sample
 * automations. Guarded by an advisory lock so two nodes starting together seed once.
 */
export async function seedFirstStart(db: Database, config: Config, log: Logger): Promise<SeedResult> {
  return db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock(72611002)')
    const [done] = await tx.query("select value from settings where key = 'seeded'")
    if (done) return { created: false }
    const email = config.adminEmail ?? 'admin@switchyard.local'
    const generatedPassword = config.adminPassword ? undefined : randomBytes(9).toString('base64url')
    const [org] = await tx.query<{ id: string }>(
      "insert into organizations (name) values ('Demo') returning id",
    )
    const [admin] = await tx.query<{ id: string }>(
      `insert into users (org_id, email, name, role, password_hash) values ($1, $2, 'Admin', 'ADMIN', $3) returning id`,
      [org!.id, email, await hashPassword(config.adminPassword ?? generatedPassword!)],
    )
    const folders = await tx.query<{ id: string; name: string }>(
      `insert into folders (org_id, name) values ($1, 'Daily loads'), ($1, 'Reports') returning id, name`,
      [org!.id],
    )
    if (config.seedDemo) await seedAutomations(tx, org!.id, admin!.id, folders[0]!.id, folders[1]!.id)
    await tx.query("insert into settings (key, value) values ('seeded', now()::text)")
    log.info({ email }, 'seeded the demo organization')
    return { created: true, adminEmail: email, ...(generatedPassword ? { generatedPassword } : {}) }
  })
}

async function seedAutomations(
  tx: Pick<Database, 'query'>,
  orgId: string,
  adminId: string,
  loads: string,
  reports: string,
) {
  const samples = [
    {
      name: 'Hello script',
      folder: loads,
      kind: 'SCRIPT',
      config: {
        language: 'javascript',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: this is the user's script source
        code: "log('hello from', triggered_by_user ?? 'a schedule')\nsetOutput('greeting', `Hello ${params.name}`)",
        memoryMb: 256,
        timeoutMs: 60000,
      },
      parameters: [
        { name: 'name', type: 'STRING', required: false, default: 'world', description: 'Who to greet' },
      ],
      mutex: null,
    },
    {
      name: 'Refresh warehouse table',
      folder: loads,
      kind: 'SQL',
      config: {
        statement:
          'create table if not exists demo_events (id serial primary key, at timestamptz default now())',
        maxRows: 100,
        timeoutMs: 60000,
      },
      parameters: [],
      mutex: { name: 'warehouse-load', policy: 'QUEUE' },
    },
    {
      name: 'Record a heartbeat',
      folder: loads,
      kind: 'SQL_TO_STORAGE',
      config: {
        source: { datasource: 'warehouse', query: "select now() as at, 'demo' as source" },
        target: { storage: 'heartbeats', mode: 'APPEND', key: [] },
      },
      parameters: [],
      mutex: { name: 'warehouse-load', policy: 'QUEUE' },
    },
    {
      name: 'Heartbeat metrics',
      folder: reports,
      kind: 'COMPUTE_METRICS',
      config: {
        target: { datasource: 'warehouse', table: 'heartbeats' },
        metrics: [{ type: 'ROW_COUNT' }, { type: 'FRESHNESS', column: 'at' }],
      },
      parameters: [],
      mutex: null,
    },
    {
      name: 'Heartbeat checks',
      folder: reports,
      kind: 'RUN_CHECKS',
      config: {
        checks: [
          {
            name: 'has_heartbeats',
            metric: { datasource: 'warehouse', table: 'heartbeats', name: 'row_count' },
            rule: { type: 'MIN', min: 1 },
            blocking: true,
          },
          {
            name: 'fresh',
            metric: { datasource: 'warehouse', table: 'heartbeats', name: 'freshness_at' },
            rule: { type: 'MAX', max: 172800, softMax: 90000 },
            blocking: true,
          },
        ],
        failOn: 'ERROR',
      },
      parameters: [],
      mutex: null,
    },
  ]
  const ids: string[] = []
  for (const s of samples) {
    const def = {
      name: s.name,
      kind: s.kind,
      config: s.config,
      parameters: s.parameters,
      timeoutMs: null,
      retry: { maxAttempts: 1, backoffMs: 1000 },
      mutex: s.mutex,
      runAsUserId: null,
      allowAllUsersToRun: true,
      folderId: s.folder,
    }
    const [a] = await tx.query<{ id: string }>(
      `insert into automations (org_id, folder_id, name, kind, created_by, allow_all_users_to_run) values ($1, $2, $3, $4, $5, true) returning id`,
      [orgId, s.folder, s.name, s.kind, adminId],
    )
    const [v] = await tx.query<{ id: string }>(
      `insert into automation_versions (org_id, automation_id, version, definition, created_by) values ($1, $2, 1, $3::jsonb, $4) returning id`,
      [orgId, a!.id, JSON.stringify(def), adminId],
    )
    await tx.query('update automations set current_version_id = $2 where id = $1', [a!.id, v!.id])
    ids.push(a!.id)
  }
  const chainDef = {
    name: 'Nightly pipeline',
    kind: 'CHAIN',
    config: { children: ids },
    parameters: [],
    timeoutMs: null,
    retry: { maxAttempts: 1, backoffMs: 1000 },
    mutex: null,
    runAsUserId: null,
    allowAllUsersToRun: false,
    folderId: reports,
  }
  const [c] = await tx.query<{ id: string }>(
    `insert into automations (org_id, folder_id, name, kind, created_by) values ($1, $2, 'Nightly pipeline', 'CHAIN', $3) returning id`,
    [orgId, reports, adminId],
  )
  const [cv] = await tx.query<{ id: string }>(
    `insert into automation_versions (org_id, automation_id, version, definition, created_by) values ($1, $2, 1, $3::jsonb, $4) returning id`,
    [orgId, c!.id, JSON.stringify(chainDef), adminId],
  )
  await tx.query('update automations set current_version_id = $2 where id = $1', [c!.id, cv!.id])
  // The pipeline runs every night at two, in the server's zone, so the demo shows a schedule.
  const cron = { cron: '0 0 2 * * *', timezone: 'UTC', missedTickPolicy: 'ONCE', overlapPolicy: 'SKIP' }
  await insertTrigger(tx, {
    orgId,
    automationId: c!.id,
    type: 'CRON',
    enabled: true,
    config: cron,
    parameters: {},
    tokenHash: null,
    tokenPrefix: null,
    watchAutomationId: null,
    createdBy: adminId,
    schedule: freshSchedule('CRON', cron, new Date()),
  })
}
