import { type Client, createClient } from 'graphql-ws'
import WebSocket from 'ws'
import { withDatabase } from '../lib/database'
import type { WorkloadResult } from '../lib/report'
import { now, percentile } from '../lib/stats'
import { type Node, login, prepare, spawnNode } from '../lib/switchyard'

const SUBSCRIBERS = Number(process.env.BENCH_W5_SUBSCRIBERS ?? 1000)
const RUNS_PER_SECOND = Number(process.env.BENCH_W5_RATE ?? 100)
const DRIVE_MS = Number(process.env.BENCH_W5_SECONDS ?? 10) * 1000
/** A run changes state three times: QUEUED, RUNNING, SUCCEEDED. */
const CHANGES_PER_RUN = 3

const SUBSCRIPTION = `subscription($a: ID!) { runUpdated(automationId: $a) { id state createdAt startedAt finishedAt } }`

interface Update {
  id: string
  state: string
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
}

/** When the row reached the state it shows, per the runs table (transaction start time). */
function changedAt(u: Update): number {
  const at = u.state === 'QUEUED' ? u.createdAt : u.state === 'RUNNING' ? u.startedAt : u.finishedAt
  return at ? Date.parse(at) : Number.NaN
}

/**
 * W5: 1,000 graphql-ws clients (one socket each) subscribed to one automation's
 * runs on a server process (roles api,worker), while this process enqueues 100
 * runs/s of it. Each state change is due to every subscriber.
 */
export async function w5(): Promise<WorkloadResult> {
  return withDatabase('w5_sy', async ({ url }) => {
    const p = await prepare(url)
    let node: Node | undefined
    const clients: Client[] = []
    const disposers: (() => void)[] = []
    try {
      const a = await p.createAutomation({ name: 'watched', kind: 'NOOP', config: {} })
      const profile = process.env.BENCH_W5_PROFILE_DIR
      node = await spawnNode(p, {
        roles: 'api,worker',
        concurrency: 16,
        ...(profile ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profile}`] } : {}),
      })
      const base = `http://127.0.0.1:${node.port}`
      const token = await login(base)
      // Warm the server's GraphQL and queue paths before the memory baseline.
      for (let i = 0; i < 20; i++) await p.engine.enqueue(p.newRun(a))
      await new Promise((r) => setTimeout(r, 1000))
      const rssBefore = node.rss()

      let deliveries = 0
      const byState = new Map<string, number>()
      let measuring = false
      let firstAt = 0
      let lastAt = 0
      const latencies: number[] = []
      const probeSeen = new Set<number>()
      let probeId = ''
      let errors = 0
      for (let i = 0; i < SUBSCRIBERS; i++) {
        const client = createClient({
          url: `ws://127.0.0.1:${node.port}/graphql`,
          webSocketImpl: WebSocket,
          connectionParams: { authorization: `Bearer ${token}` },
          retryAttempts: 0,
          lazy: true,
        })
        clients.push(client)
        disposers.push(
          client.subscribe<{ runUpdated: Update }>(
            { query: SUBSCRIPTION, variables: { a: a.id } },
            {
              next: (r) => {
                const u = r.data?.runUpdated
                if (!u) return
                const t = now()
                if (u.id === probeId) probeSeen.add(i)
                if (!measuring) return
                deliveries++
                byState.set(u.state, (byState.get(u.state) ?? 0) + 1)
                lastAt = t
                latencies.push(t - changedAt(u))
              },
              error: () => {
                errors++
              },
              complete: () => {},
            },
          ),
        )
      }
      // graphql-ws does not acknowledge a subscription: a probe run proves every subscriber is live.
      const deadline = Date.now() + 60_000
      while (probeSeen.size < SUBSCRIBERS && Date.now() < deadline) {
        const { run } = await p.engine.enqueue(p.newRun(a))
        probeId = run.id
        await new Promise((r) => setTimeout(r, 1000))
      }
      const live = probeSeen.size
      await new Promise((r) => setTimeout(r, 1000))
      const rssSubscribed = node.rss()

      // Drive: RUNS_PER_SECOND enqueues per second, each in its own transaction, paced on the clock.
      measuring = true
      const start = now()
      firstAt = start
      let enqueued = 0
      let rssPeak = rssSubscribed
      const pending: Promise<unknown>[] = []
      while (now() - start < DRIVE_MS) {
        const due = Math.floor(((now() - start) / 1000) * RUNS_PER_SECOND)
        while (enqueued < due) {
          enqueued++
          pending.push(p.engine.enqueue(p.newRun(a)))
        }
        rssPeak = Math.max(rssPeak, node.rss())
        await new Promise((r) => setTimeout(r, 5))
      }
      await Promise.all(pending)
      // Let the deliveries drain: until all arrived, nothing arrived for 10 s, or 30 s passed.
      const expected = enqueued * CHANGES_PER_RUN * live
      const drainUntil = Date.now() + 30_000
      let progressAt = Date.now()
      let seen = deliveries
      while (Date.now() < drainUntil && deliveries < expected && Date.now() - progressAt < 10_000) {
        rssPeak = Math.max(rssPeak, node.rss())
        await new Promise((r) => setTimeout(r, 250))
        if (deliveries !== seen) {
          seen = deliveries
          progressAt = Date.now()
        }
      }
      measuring = false
      const [finished] = await p.db.query<{ n: number }>(
        "select count(*)::int as n from runs where automation_id = $1 and state = 'SUCCEEDED'",
        [a.id],
      )
      const rate = (deliveries / (lastAt - firstAt)) * 1000
      const perSubscriber = (rssSubscribed - rssBefore) / SUBSCRIBERS
      return {
        id: 'W5',
        title: `live status fan-out: ${SUBSCRIBERS} graphql-ws subscribers of one automation, ${RUNS_PER_SECOND} runs/s for ${DRIVE_MS / 1000} s`,
        figures: [
          {
            workload: 'W5',
            name: 'deliveries/s',
            value: rate,
            unit: 'rate',
            better: 'higher',
            target: { text: '≥ 20k/s', limit: 20_000 },
          },
          {
            workload: 'W5',
            name: 'event-to-client p99',
            value: percentile(latencies, 99),
            unit: 'ms',
            better: 'lower',
            target: { text: '≤ 50 ms', limit: 50 },
          },
          {
            workload: 'W5',
            name: '  event-to-client p50',
            value: percentile(latencies, 50),
            unit: 'ms',
            better: 'lower',
          },
          {
            workload: 'W5',
            name: 'server memory per subscriber',
            value: perSubscriber,
            unit: 'bytes',
            better: 'lower',
            target: { text: '≤ 50 KB', limit: 50 * 1024 },
          },
        ],
        against: [
          `Switchyard: one server process \`main.ts --role api,worker\` (concurrency 16); ${SUBSCRIBERS} graphql-ws ${'6.x'} clients in the bench process, one WebSocket each (ws), bearer token in connectionParams, subscribed to runUpdated(automationId) { id state createdAt startedAt finishedAt }; ${live}/${SUBSCRIBERS} proved live by a probe run; ${errors} subscription errors.`,
          `Drive: ${enqueued} NOOP runs enqueued by this process (engine enqueueRun, one transaction each) at ${RUNS_PER_SECOND}/s; ${deliveries.toLocaleString('en')} of ${expected.toLocaleString('en')} possible deliveries (${CHANGES_PER_RUN} state changes × runs × live subscribers) arrived (${[...byState].map(([k, v]) => `${k} ${v}`).join(', ')}), while the runs table holds ${finished!.n} SUCCEEDED runs of the automation; rate = deliveries / (drive start → last delivery).`,
          'Event-to-client = receipt time − the shown state’s time in the runs table (createdAt/startedAt/finishedAt = PostgreSQL transaction start), so it includes the rest of that transaction.',
          `Server RSS: ${(rssBefore / 2 ** 20).toFixed(0)} MB before the clients, ${(rssSubscribed / 2 ** 20).toFixed(0)} MB with them subscribed (memory per subscriber = the difference / ${SUBSCRIBERS}), peak ${(rssPeak / 2 ** 20).toFixed(0)} MB under the drive.`,
          'graphile-worker and pg-boss: no subscription API, not run.',
        ],
      }
    } finally {
      for (const d of disposers) d()
      await Promise.all(clients.map((c) => c.dispose()))
      await node?.stop()
      await p.close()
    }
  })
}
