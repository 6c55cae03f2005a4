import { loadConfig } from '../../../server/src/config'
import type { Context } from '../../../server/src/graphql/context'
import { createLogger } from '../../../server/src/log'
import type { Services } from '../../../server/src/services'
import { createTrigger } from '../../../server/src/triggers/service'
import { withDatabase } from '../lib/database'
import type { WorkloadResult } from '../lib/report'
import { percentile } from '../lib/stats'
import {
  ADMIN_EMAIL,
  type Node,
  type Prepared,
  benchEnv,
  epochMs,
  prepare,
  queueNoopRuns,
  spawnNode,
  waitUntil,
} from '../lib/switchyard'

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback)
const SECONDS = env('BENCH_W6_SECONDS', 120)
const SCHEDULES = env('BENCH_W6_SCHEDULES', 100)
/** W3 load: due no-op runs queued per second while the schedules fire (0 = idle workers). */
const LOAD_RATE = env('BENCH_W6_LOAD_RATE', 2000)
const WORKERS = env('BENCH_W6_WORKERS', 2)
const CONCURRENCY = env('BENCH_W6_CONCURRENCY', 32)
const SCHEDULERS = 2
const LOOKAHEAD_MS = env('BENCH_W6_LOOKAHEAD_MS', 1000)
/** Echo the nodes' output (LOG_LEVEL warn) to stderr. */
const VERBOSE = Boolean(process.env.BENCH_W6_VERBOSE)
/** Seconds left out at each end of the window: the triggers' first and last ticks are not steady state. */
const MARGIN_S = 2

/** A GraphQL context of the bench admin, to create triggers through the service as the API would. */
function adminContext(p: Prepared): Context {
  const config = loadConfig(benchEnv(p.url, p.dataDir))
  const services = { db: p.db, config, log: createLogger('silent'), engine: p.engine } as unknown as Services
  return {
    services,
    viewer: {
      type: 'user',
      userId: p.adminId,
      orgId: p.orgId,
      role: 'ADMIN',
      email: ADMIN_EMAIL,
      via: 'session',
    },
    origin: undefined,
    responseCookies: [],
    memo: new Map(),
  }
}

/** W3-style load: LOAD_RATE due no-op runs a second, one INSERT (and wake-up) every 100 ms. */
function startLoad(p: Prepared, automation: { id: string; versionId: string }): () => Promise<number> {
  let stopped = false
  let inserted = 0
  const perBatch = Math.round(LOAD_RATE / 10)
  const done = (async () => {
    let next = Date.now()
    while (!stopped && perBatch > 0) {
      await p.db.transaction(async (tx) => {
        await queueNoopRuns(tx, p, automation, perBatch)
        await tx.query("select pg_notify('sy_wake', '')")
      })
      inserted += perBatch
      next += 100
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())))
    }
  })()
  return async () => {
    stopped = true
    await done
    return inserted
  }
}

interface Measured {
  lateness: number[]
  expected: number
  windowS: number
  /** Distinct (schedule, due second) pairs in the window that got a run. */
  fired: number
  /** Runs of a schedule beyond the first for the same due second, over the whole run. */
  duplicates: number
  /** SCHEDULE runs without a trigger_fires row, or fires whose run is missing. */
  unmatched: number
  neverStarted: number
  missedEvents: number
  lateEvents: number
  loadRate: number
  loadInserted: number
  depthP50: number
  depthMax: number
  /** Lateness of the first run of each due second to start. */
  firstP50: number
  firstP99: number
  aheadP1: number
  aheadP50: number
  worstSeconds: number[]
  /** Worker processes that did not exit within 10 s of SIGTERM (a blocked event loop does not drain). */
  workersKilled: number
}

async function switchyard(): Promise<Measured> {
  return withDatabase('w6_sy', async ({ url }) => {
    const p = await prepare(url, 4)
    const nodes: Node[] = []
    let stopLoad: (() => Promise<number>) | undefined
    const echo = (who: string) => (VERBOSE ? (s: string) => process.stderr.write(`[${who}] ${s}`) : undefined)
    try {
      const load = await p.createAutomation({ name: 'w3-load', kind: 'NOOP', config: {} })
      const targets: string[] = []
      for (let i = 0; i < SCHEDULES; i++) {
        targets.push((await p.createAutomation({ name: `w6-${i}`, kind: 'NOOP', config: {} })).id)
      }
      const extraEnv = {
        SWITCHYARD_SCHEDULER_LOOKAHEAD_MS: String(LOOKAHEAD_MS),
        ...(VERBOSE ? { LOG_LEVEL: 'warn' } : {}),
      }
      for (let i = 0; i < WORKERS; i++) {
        nodes.push(
          await spawnNode(p, {
            roles: 'worker',
            concurrency: CONCURRENCY,
            extraEnv,
            onOutput: echo(`worker ${i}`),
          }),
        )
      }
      for (let i = 0; i < SCHEDULERS; i++) {
        nodes.push(await spawnNode(p, { roles: 'scheduler', extraEnv, onOutput: echo(`scheduler ${i}`) }))
      }
      stopLoad = startLoad(p, load)
      await new Promise((r) => setTimeout(r, 3000)) // let the load reach a steady state
      const ctx = adminContext(p)
      for (const a of targets) {
        await createTrigger(ctx, a, { type: 'CRON', config: { cron: '* * * * * *', overlapPolicy: 'ALLOW' } })
      }
      const created = Date.now()
      const depth: number[] = []
      const end = created + SECONDS * 1000
      while (Date.now() < end) {
        await new Promise((r) => setTimeout(r, 1000))
        const [d] = await p.db.query<{ n: number }>(
          "select count(*)::int as n from run_queue where state = 'QUEUED' and run_at <= now()",
        )
        depth.push(Number(d!.n))
      }
      await p.db.query("update triggers set enabled = false where type = 'CRON'")
      const stopped = Date.now()
      const loadInserted = await stopLoad()
      stopLoad = undefined

      // The window: whole seconds after every trigger existed and before any was switched off.
      const from = Math.ceil(created / 1000) * 1000 + MARGIN_S * 1000
      const to = Math.floor(stopped / 1000) * 1000 - MARGIN_S * 1000
      const windowS = (to - from) / 1000 + 1
      const expected = windowS * SCHEDULES
      // Runs of the window still queued behind the load start late, not never: wait for them.
      await waitUntil(
        'the scheduled runs of the window to start',
        async () => {
          const [r] = await p.db.query<{ n: number }>(
            `select count(*)::int as n from runs where trigger_source = 'SCHEDULE' and started_at is null
             and run_at between $1 and $2`,
            [new Date(from), new Date(to)],
          )
          return Number(r!.n) === 0
        },
        60_000,
        250,
      ).catch(() => {})

      // One row per scheduled run of the window: its due second (run_at) and when a worker claimed it.
      const rows = await p.db.query<{ due: number; late: number | null; ahead: number }>(
        `select ${epochMs('r.run_at')} as due, ${epochMs('r.started_at')} - ${epochMs('r.run_at')} as late,
           ${epochMs('r.run_at')} - ${epochMs('r.created_at')} as ahead
         from runs r where r.trigger_source = 'SCHEDULE' and r.run_at between $1 and $2`,
        [new Date(from), new Date(to)],
      )
      const [dup] = await p.db.query<{ extra: number; fired: number }>(
        `select (select count(*) - count(distinct (automation_id, run_at)) from runs
                  where trigger_source = 'SCHEDULE')::int as extra,
                (select count(distinct (automation_id, run_at)) from runs
                  where trigger_source = 'SCHEDULE' and run_at between $1 and $2)::int as fired`,
        [new Date(from), new Date(to)],
      )
      const [match] = await p.db.query<{ n: number }>(
        `select ((select count(*) from runs r where r.trigger_source = 'SCHEDULE'
                   and not exists (select 1 from trigger_fires f where f.run_id = r.id))
               + (select count(*) from trigger_fires f where f.run_id is not null
                   and not exists (select 1 from runs r where r.id = f.run_id)))::int as n`,
      )
      const [ev] = await p.db.query<{ missed: number; late: number }>(
        `select count(*) filter (where kind = 'MISSED')::int as missed,
           count(*) filter (where kind = 'LATE')::int as late from trigger_events`,
      )
      const [thr] = await p.db.query<{ n: number }>(
        `select count(*)::int as n from runs where automation_id = $1 and state = 'SUCCEEDED'
         and finished_at >= $2 and finished_at < $3`,
        [load.id, new Date(from), new Date(to + 1000)],
      )
      const lateness = rows.filter((r) => r.late !== null).map((r) => Number(r.late))
      // The seconds with the worst tail tell a slow claim (one second) from a slow scheduler (queued late).
      const bySecond = new Map<number, number>()
      // The first start of each second tells a late wake-up (every run of the second waits)
      // from a slow burn-down of the second's runs once the first has started.
      const firstBySecond = new Map<number, number>()
      for (const r of rows) {
        const late = r.late === null ? Number.POSITIVE_INFINITY : Number(r.late)
        bySecond.set(Number(r.due), Math.max(bySecond.get(Number(r.due)) ?? 0, late))
        firstBySecond.set(Number(r.due), Math.min(firstBySecond.get(Number(r.due)) ?? late, late))
      }
      const first = [...firstBySecond.values()].filter(Number.isFinite)
      const ahead = rows.map((r) => Number(r.ahead))
      // Stopped here rather than in finally, so the report can say whether they drained.
      const workers = nodes.splice(0, WORKERS)
      const killed = await Promise.all(workers.map((n) => n.stop()))
      return {
        workersKilled: killed.filter(Boolean).length,
        lateness,
        expected,
        windowS,
        fired: Number(dup!.fired),
        duplicates: Number(dup!.extra),
        unmatched: Number(match!.n),
        neverStarted: rows.length - lateness.length,
        missedEvents: Number(ev!.missed),
        lateEvents: Number(ev!.late),
        loadRate: (Number(thr!.n) / (to + 1000 - from)) * 1000,
        loadInserted,
        depthP50: percentile(depth, 50),
        depthMax: depth.length > 0 ? Math.max(...depth) : Number.NaN,
        aheadP1: percentile(ahead, 1),
        aheadP50: percentile(ahead, 50),
        worstSeconds: [...bySecond.values()].sort((a, b) => b - a).slice(0, 3),
        firstP50: percentile(first, 50),
        firstP99: percentile(first, 99),
      }
    } finally {
      await stopLoad?.()
      await Promise.all(nodes.map((n) => n.stop()))
      await p.close()
    }
  })
}

export async function w6(): Promise<WorkloadResult> {
  const m = await switchyard()
  const figure = (
    name: string,
    value: number,
    unit: 'ms' | 'count' | 'rate',
    target?: { text: string; limit: number },
  ) => ({
    workload: 'W6',
    name,
    value,
    unit,
    better: unit === 'rate' ? ('higher' as const) : ('lower' as const),
    ...(target ? { target } : {}),
  })
  const missed = m.expected - m.fired
  return {
    id: 'W6',
    title: `cron: ${SCHEDULES} schedules firing every second for ${SECONDS} s under W3 load, ${SCHEDULERS} scheduler processes`,
    figures: [
      figure('lateness p50 (due → RUNNING)', percentile(m.lateness, 50), 'ms'),
      figure('lateness p99', percentile(m.lateness, 99), 'ms', { text: '≤ 20 ms', limit: 20 }),
      figure('lateness max', m.lateness.length > 0 ? Math.max(...m.lateness) : Number.NaN, 'ms'),
      figure('duplicate ticks (must be 0)', m.duplicates, 'count', { text: '0', limit: 0 }),
      figure('missed ticks (must be 0)', missed, 'count', { text: '0', limit: 0 }),
      figure('  never started within 60 s', m.neverStarted, 'count', { text: '0', limit: 0 }),
      figure('MISSED + LATE trigger events', m.missedEvents + m.lateEvents, 'count'),
      figure('worker processes hung (SIGKILLed)', m.workersKilled, 'count', { text: '0', limit: 0 }),
      figure('W3 load burned down meanwhile', m.loadRate, 'rate'),
    ],
    against: [
      `Switchyard: ${SCHEDULES} NOOP automations, each with a CRON trigger "* * * * * *" (overlap ALLOW, created through the trigger service), ${SCHEDULERS} processes \`src/main.ts --role scheduler\` (SWITCHYARD_SCHEDULER_LOOKAHEAD_MS ${LOOKAHEAD_MS}), ${WORKERS} processes \`--role worker\` × concurrency ${CONCURRENCY}.`,
      `W3 load: ${LOAD_RATE} due NOOP runs/s of another automation offered, inserted ${Math.round(LOAD_RATE / 10)} per statement every 100 ms with a wake-up NOTIFY, from 3 s before the triggers exist until they are switched off (${m.loadInserted} in all), ${Math.round(m.loadRate)}/s burned down; ready-queue depth (QUEUED, due) sampled every second: p50 ${m.depthP50}, max ${m.depthMax}.${m.loadRate < LOAD_RATE * 0.95 ? ' The load exceeded what the workers burn down, so the queue grew; scheduled runs are claimed first (priority, then run_at), so their lateness is the wait for a free worker slot and the load of the machine, not the backlog.' : ''}`,
      `Window: the ${m.windowS} whole seconds from ${MARGIN_S} s after the triggers exist to ${MARGIN_S} s before they are switched off = ${m.expected} expected ticks; ${m.fired} got a run. Lateness = runs.started_at (clock_timestamp() of the claim) − runs.run_at (the due second) for the SCHEDULE runs of the window; runs still queued when the triggers stop are waited for (60 s), “never started” counts those that were not.`,
      `Duplicates: SCHEDULE runs beyond the first per (automation, due second) over the whole run; ${m.unmatched} SCHEDULE runs without their trigger_fires row or the reverse. MISSED ${m.missedEvents}, LATE ${m.lateEvents} trigger events (the scheduler’s own account).`,
      `Worker processes are stopped with SIGTERM after the checks; ${m.workersKilled} of ${WORKERS} did not exit within 10 s and were killed. A worker that drains exits at once; one that does not has a blocked event loop, and the runs it holds and the queue behind it wait (see “never started”).`,
      `Worst seconds (max lateness of the second): ${m.worstSeconds.map((w) => `${w.toFixed(0)} ms`).join(', ')}; lateness of each second's first start p50 ${m.firstP50.toFixed(1)} ms, p99 ${m.firstP99.toFixed(1)} ms; runs queued ahead of their due second by p1 ${m.aheadP1.toFixed(0)} ms, p50 ${m.aheadP50.toFixed(0)} ms (lookahead).`,
      'graphile-worker and pg-boss: not measured. Both schedule with minute resolution (graphile-worker crontab and pg-boss schedule() take 5-field cron; pg-boss checks its schedules every 30 s by default), so "every second" cannot be expressed; a per-minute run would give 2 ticks per schedule in 2 minutes and compare a different thing.',
    ],
  }
}
