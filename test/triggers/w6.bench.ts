/**
 * W6 of shared/BENCHMARKS.md: 100 CRON schedules firing every second for two
 * minutes, two scheduler processes, under W3 load (a steady stream of no-op
 * runs burned down by worker processes). Reports lateness (due time → RUNNING)
 * and counts duplicate and missed ticks. A benchmark reports; it asserts nothing.
 *
 *   cd test && DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx triggers/w6.bench.ts
 *
 * W6_SECONDS (120) · W6_SCHEDULES (100) · W6_LOAD_RATE no-op runs/s of W3 load (2000; 0 = idle) ·
 * W6_WORKERS worker processes (2) · W6_CONCURRENCY per worker (32) · W6_LOOKAHEAD_MS (1000)
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import postgres from 'postgres'
import { type Database, openDatabase } from '../../server/src/db/database'
import { migrate } from '../../server/src/db/migrate'
import { createOrg } from '../helpers/fixtures'
import { TEST_SECRET_KEY } from '../helpers/server'
import { automation, contextFor, trigger } from './helpers'

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback)
const SECONDS = env('W6_SECONDS', 120)
const SCHEDULES = env('W6_SCHEDULES', 100)
const LOAD_RATE = env('W6_LOAD_RATE', 2000)
const WORKERS = env('W6_WORKERS', 2)
const CONCURRENCY = env('W6_CONCURRENCY', 32)
const LOOKAHEAD_MS = env('W6_LOOKAHEAD_MS', 1000)
const serverDir = fileURLToPath(new URL('../../server', import.meta.url))

/** One line of the table, shaped like test/bench's Figure so its runner can print it. */
export interface W6Figure {
  name: string
  value: number
  unit: 'ms' | 'count' | 'rate'
  target?: string
}

function node(url: string, role: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--role', role], {
    cwd: serverDir,
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: url,
      SWITCHYARD_SECRET_KEY: TEST_SECRET_KEY,
      SWITCHYARD_DATA_DIR: mkdtempSync(join(tmpdir(), 'sy-w6-')),
      SWITCHYARD_SEED_DEMO: 'false',
      SWITCHYARD_WORKER_CONCURRENCY: String(CONCURRENCY),
      SWITCHYARD_SCHEDULER_LOOKAHEAD_MS: String(LOOKAHEAD_MS),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      if (process.env.W6_VERBOSE) process.stderr.write(`[${role}] ${d}`)
      out += d.toString()
      if (out.includes('SWITCHYARD_READY')) resolve(child)
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code) => reject(new Error(`${role} node exited ${code}: ${out.slice(-2000)}`)))
  })
}

async function stopNode(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const gone = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  await gone
  clearTimeout(timer)
}

/** W3-style load: `rate` due no-op runs a second, inserted in batches every 100 ms. */
function startLoad(
  db: Database,
  p: { orgId: string; automationId: string; versionId: string; userId: string },
) {
  let stopped = false
  const done = (async () => {
    const perBatch = Math.round(LOAD_RATE / 10)
    let next = Date.now()
    while (!stopped && perBatch > 0) {
      await db.transaction(async (tx) => {
        await tx.query(
          `insert into runs (org_id, automation_id, version_id, version, kind, state, trigger_source, triggered_by,
             run_as, max_attempts, parameters)
           select $1, $2, $3, 1, 'NOOP', 'QUEUED', 'API', $4, $4, 1, '{}'::jsonb from generate_series(1, $5::int)`,
          [p.orgId, p.automationId, p.versionId, p.userId, perBatch],
        )
        await tx.query("select pg_notify('sy_wake', '')")
      })
      next += 100
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())))
    }
  })()
  return async () => {
    stopped = true
    await done
  }
}

const pct = (sorted: number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

export async function w6(): Promise<{ figures: W6Figure[]; against: string[] }> {
  const base = process.env.DATABASE_URL
  if (!base) throw new Error('W6 needs DATABASE_URL (two scheduler processes share one PostgreSQL)')
  const name = `sy_w6_${randomBytes(4).toString('hex')}`
  const admin = postgres(base, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  const u = new URL(base)
  u.pathname = `/${name}`
  const url = u.toString()
  const db = await openDatabase({ databaseUrl: url, max: 4 })
  const nodes: ChildProcess[] = []
  try {
    await migrate(db)
    const org = await createOrg(db, { admin: 'ADMIN' })
    const ctx = contextFor(db, org, 'admin')
    const load = await automation(ctx, { name: 'w3-load', kind: 'NOOP', config: {} })
    const [v] = await db.query<{ id: string }>(
      'select current_version_id as id from automations where id = $1',
      [load],
    )
    const targets: string[] = []
    for (let i = 0; i < SCHEDULES; i++)
      targets.push(await automation(ctx, { name: `w6-${i}`, kind: 'NOOP', config: {} }))
    for (let i = 0; i < WORKERS; i++) nodes.push(await node(url, 'worker'))
    nodes.push(await node(url, 'scheduler'), await node(url, 'scheduler'))
    const stopLoad = startLoad(db, {
      orgId: org.id,
      automationId: load,
      versionId: v!.id,
      userId: org.users.admin!.id,
    })
    await new Promise((r) => setTimeout(r, 3000)) // let the load reach a steady state
    for (const a of targets) {
      await trigger(
        ctx,
        a,
        { type: 'CRON', config: { cron: '* * * * * *', overlapPolicy: 'ALLOW' } },
        Date.now(),
      )
    }
    const created = Date.now()
    await db.query("select pg_notify('sy_trigger', '')")
    process.stderr.write(`W6: ${SCHEDULES} schedules firing for ${SECONDS}s …\n`)
    const depth: number[] = []
    const end = Date.now() + SECONDS * 1000
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, 1000))
      const [d] = await db.query<{ n: number }>(
        "select count(*)::int as n from runs where state = 'QUEUED' and run_at <= now()",
      )
      depth.push(d!.n)
    }
    await db.query("update triggers set enabled = false where type = 'CRON'")
    const stopped = Date.now()
    await stopLoad()
    await new Promise((r) => setTimeout(r, 3000 + LOOKAHEAD_MS))

    // The window: whole seconds after every trigger existed and before any was switched off.
    const from = Math.ceil(created / 1000) * 1000 + 2000
    const to = Math.floor(stopped / 1000) * 1000 - 2000
    const expected = ((to - from) / 1000 + 1) * SCHEDULES
    const rows = await db.query<{ late: number | null; second: Date; ahead: number }>(
      `select extract(epoch from (r.started_at - f.scheduled_at)) * 1000 as late, f.scheduled_at as second,
         extract(epoch from (f.scheduled_at - r.created_at)) * 1000 as ahead from trigger_fires f
       join runs r on r.id = f.run_id where f.scheduled_at between $1 and $2`,
      [new Date(from), new Date(to)],
    )
    const [dup] = await db.query<{ runs: number; fires: number }>(
      `select (select count(*)::int from runs where trigger_source = 'SCHEDULE') as runs,
              (select count(*)::int from trigger_fires where run_id is not null) as fires`,
    )
    const [ev] = await db.query<{ missed: number; late: number }>(
      `select count(*) filter (where kind = 'MISSED')::int as missed, count(*) filter (where kind = 'LATE')::int as late
       from trigger_events`,
    )
    const [thr] = await db.query<{ n: number }>(
      `select count(*)::int as n from runs where automation_id = $1 and state = 'SUCCEEDED'
       and finished_at between $2 and $3`,
      [load, new Date(from), new Date(to)],
    )
    const lateness = rows
      .map((r) => r.late)
      .filter((x): x is number => x !== null)
      .map(Number)
      .sort((a, b) => a - b)
    const never = rows.length - lateness.length
    // The seconds with the worst tail tell a slow claim (one second) from a slow scheduler (queued late).
    const bySecond = new Map<number, number>()
    for (const r of rows) {
      const k = new Date(r.second).getTime()
      bySecond.set(k, Math.max(bySecond.get(k) ?? 0, Number(r.late ?? Number.POSITIVE_INFINITY)))
    }
    const worst = [...bySecond.values()].sort((a, b) => b - a).slice(0, 3)
    const ahead = rows.map((r) => Number(r.ahead)).sort((a, b) => a - b)
    const figures: W6Figure[] = [
      { name: 'lateness p50 (due → RUNNING)', value: pct(lateness, 50), unit: 'ms' },
      { name: 'lateness p99', value: pct(lateness, 99), unit: 'ms', target: '≤ 20 ms' },
      { name: 'lateness max', value: lateness.at(-1) ?? Number.NaN, unit: 'ms' },
      { name: 'duplicate ticks', value: dup!.runs - dup!.fires, unit: 'count', target: '0' },
      { name: 'missed ticks', value: expected - rows.length + never, unit: 'count', target: '0' },
      { name: 'MISSED / LATE events', value: ev!.missed + ev!.late, unit: 'count' },
      { name: 'W3 load burned down', value: (thr!.n / (to - from + 1000)) * 1000, unit: 'rate' },
    ]
    const against = [
      `${SCHEDULES} CRON triggers "* * * * * *" (overlap ALLOW) for ${SECONDS}s; window of ${(to - from) / 1000 + 1}s = ${expected} ticks checked`,
      `2 scheduler processes (lookahead ${LOOKAHEAD_MS} ms), ${WORKERS} worker processes × ${CONCURRENCY}, load ${LOAD_RATE} no-op runs/s`,
      `worst seconds (max lateness): ${worst.map((w) => `${w.toFixed(0)} ms`).join(', ')}; queued ahead of due time p1 ${pct(ahead, 1).toFixed(0)} ms, p50 ${pct(ahead, 50).toFixed(0)} ms`,
      `ready queue depth p50 ${pct(
        [...depth].sort((a, b) => a - b),
        50,
      )}, max ${Math.max(...depth)}; ${cpus().length} cores, Node ${process.version}`,
    ]
    return { figures, against }
  } finally {
    await Promise.all(nodes.map(stopNode))
    await db.close()
    if (process.env.W6_KEEP) process.stderr.write(`kept database ${name}\n`)
    else await admin.unsafe(`drop database if exists ${name} with (force)`)
    await admin.end()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  w6().then(
    ({ figures, against }) => {
      const show = (f: W6Figure) =>
        f.unit === 'ms'
          ? `${f.value.toFixed(1)} ms`
          : f.unit === 'rate'
            ? `${Math.round(f.value)}/s`
            : String(f.value)
      console.log('\nW6 cron under load')
      for (const f of figures)
        console.log(`  ${f.name.padEnd(32)} ${show(f).padStart(12)}   ${f.target ?? ''}`)
      for (const a of against) console.log(`  · ${a}`)
    },
    (err) => {
      console.error(err)
      process.exitCode = 1
    },
  )
}
