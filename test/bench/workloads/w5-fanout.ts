import { readFileSync } from 'node:fs'
import { type Client, createClient } from 'graphql-ws'
import WebSocket from 'ws'
import { withDatabase } from '../lib/database'
import type { WorkloadResult } from '../lib/report'
import { now, percentile } from '../lib/stats'
import { type Node, login, prepare, spawnNode } from '../lib/switchyard'

const SUBSCRIBERS = Number(process.env.BENCH_W5_SUBSCRIBERS ?? 1000)
/** (a): the latency phase's rate, about 15,000 deliveries/s offered to 1,000 subscribers. */
const RUNS_PER_SECOND = Number(process.env.BENCH_W5_RATE ?? 5)
const DRIVE_MS = Number(process.env.BENCH_W5_SECONDS ?? 10) * 1000
/** (b): rates tried in turn, each for DRIVE_MS, until one is not carried (p99 over 1 s or deliveries lost). */
const RAMP = (process.env.BENCH_W5_RAMP ?? '10,20,35,50,70,100')
  .split(',')
  .map(Number)
  .filter((n) => n > 0)
const SATURATION_P99_MS = 1000
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

/** One rate driven for DRIVE_MS and what its runs delivered. */
interface Phase {
  rate: number
  runs: Set<string>
  deliveries: number
  byState: Map<string, number>
  latencies: number[]
  start: number
  /** Time of the phase's last delivery. */
  last: number
  /** CPU time (µs) the server process and this process (the clients, the enqueues) spent in the phase. */
  serverCpu: number
  benchCpu: number
}

/** CPU time (user + system, µs) a process has used so far, from /proc (clock ticks of 10 ms). */
function cpuOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}

/** When the row reached the state it shows, per the runs table (transaction start time). */
function changedAt(u: Update): number {
  const at = u.state === 'QUEUED' ? u.createdAt : u.state === 'RUNNING' ? u.startedAt : u.finishedAt
  return at ? Date.parse(at) : Number.NaN
}

/**
 * W5: 1,000 graphql-ws clients (one socket each) subscribed to one automation's
 * runs on a server process (roles api,worker), while this process enqueues runs of it:
 * (a) at 5 runs/s, the latency of each delivery and whether every transition arrived;
 * (b) at rising rates, the highest deliveries/s carried with p99 ≤ 1 s. Each state change
 * is due to every subscriber.
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

      // The phase being driven, and which phase each of its runs belongs to (a late delivery of an
      // earlier phase's run is counted there, not in the next one).
      let current: Phase | undefined
      const phaseOf = new Map<string, Phase>()
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
                const ph = phaseOf.get(u.id) ?? current
                if (!ph || u.id === probeId) return
                ph.deliveries++
                ph.byState.set(u.state, (ph.byState.get(u.state) ?? 0) + 1)
                ph.last = Math.max(ph.last, t)
                ph.latencies.push(t - changedAt(u))
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
      const expectedOf = (ph: Phase) => ph.runs.size * CHANGES_PER_RUN * live
      const rateOf = (ph: Phase) => (ph.deliveries / (ph.last - ph.start)) * 1000

      let rssPeak = rssSubscribed
      /**
       * Enqueues `rate` runs/s for DRIVE_MS (each in its own transaction, paced on the clock),
       * then waits for their deliveries: until all arrived, nothing arrived for 10 s, or 30 s passed.
       */
      const drive = async (rate: number): Promise<Phase> => {
        const phase: Phase = {
          rate,
          runs: new Set(),
          deliveries: 0,
          byState: new Map(),
          latencies: [],
          start: now(),
          last: now(),
          serverCpu: 0,
          benchCpu: 0,
        }
        const serverCpu0 = cpuOf(node!.pid)
        const benchCpu0 = cpuOf(process.pid)
        current = phase
        let enqueued = 0
        const pending: Promise<unknown>[] = []
        while (now() - phase.start < DRIVE_MS) {
          const due = Math.floor(((now() - phase.start) / 1000) * rate)
          while (enqueued < due) {
            enqueued++
            pending.push(
              p.engine.enqueue(p.newRun(a)).then(({ run }) => {
                phase.runs.add(run.id)
                phaseOf.set(run.id, phase)
              }),
            )
          }
          rssPeak = Math.max(rssPeak, node!.rss())
          await new Promise((r) => setTimeout(r, 5))
        }
        await Promise.all(pending)
        const expected = expectedOf(phase)
        const drainUntil = Date.now() + 30_000
        let progressAt = Date.now()
        let seen = phase.deliveries
        while (Date.now() < drainUntil && phase.deliveries < expected && Date.now() - progressAt < 10_000) {
          rssPeak = Math.max(rssPeak, node!.rss())
          await new Promise((r) => setTimeout(r, 250))
          if (phase.deliveries !== seen) {
            seen = phase.deliveries
            progressAt = Date.now()
          }
        }
        current = undefined
        phase.serverCpu = cpuOf(node!.pid) - serverCpu0
        phase.benchCpu = cpuOf(process.pid) - benchCpu0
        return phase
      }
      const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
      const latency = await drive(RUNS_PER_SECOND)
      const latencyLoad = load()
      const ramp: Phase[] = []
      for (const rate of RAMP) {
        const phase = await drive(rate)
        ramp.push(phase)
        if (percentile(phase.latencies, 99) > SATURATION_P99_MS || phase.deliveries < expectedOf(phase)) break
      }
      const rampLoad = load()
      // (a) counts too: when even the ramp's first rate is not carried, (b) is what (a) carried.
      const carried = [latency, ...ramp].filter(
        (ph) => percentile(ph.latencies, 99) <= SATURATION_P99_MS && ph.deliveries >= expectedOf(ph),
      )
      const saturation = Math.max(0, ...carried.map(rateOf))
      const [finished] = await p.db.query<{ n: number }>(
        "select count(*)::int as n from runs where automation_id = $1 and state = 'SUCCEEDED'",
        [a.id],
      )
      const perSubscriber = (rssSubscribed - rssBefore) / SUBSCRIBERS
      const describe = (ph: Phase) =>
        `${ph.rate} runs/s: ${ph.deliveries.toLocaleString('en')} of ${expectedOf(ph).toLocaleString('en')} deliveries (${[...ph.byState].map(([k, v]) => `${k} ${v}`).join(', ')}), ${(rateOf(ph) / 1000).toFixed(1)}k/s, p50 ${percentile(ph.latencies, 50).toFixed(1)} ms, p99 ${percentile(ph.latencies, 99).toFixed(1)} ms, CPU per delivery: server ${(ph.serverCpu / ph.deliveries).toFixed(1)} µs, bench ${(ph.benchCpu / ph.deliveries).toFixed(1)} µs`
      return {
        id: 'W5',
        title: `live status fan-out: ${SUBSCRIBERS} graphql-ws subscribers of one automation, (a) ${RUNS_PER_SECOND} runs/s for ${DRIVE_MS / 1000} s, (b) ramp ${RAMP.join(', ')} runs/s`,
        figures: [
          {
            workload: 'W5',
            name: `(a) event-to-client p99 at ${RUNS_PER_SECOND} runs/s`,
            value: percentile(latency.latencies, 99),
            unit: 'ms',
            better: 'lower',
            target: { text: '≤ 50 ms', limit: 50 },
          },
          {
            workload: 'W5',
            name: '  (a) event-to-client p50',
            value: percentile(latency.latencies, 50),
            unit: 'ms',
            better: 'lower',
          },
          {
            workload: 'W5',
            name: '  (a) transitions not delivered',
            value: expectedOf(latency) - latency.deliveries,
            unit: 'count',
            better: 'lower',
            target: { text: '0', limit: 0 },
          },
          {
            workload: 'W5',
            name: '(b) saturation: deliveries/s with p99 ≤ 1 s',
            value: saturation,
            unit: 'rate',
            better: 'higher',
            target: { text: '≥ 100k/s', limit: 100_000 },
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
          `(a) ${describe(latency)}; load average ${latencyLoad}.`,
          `(b) ramp, ${DRIVE_MS / 1000} s per rate, stopped at the first rate not carried (p99 over 1 s or deliveries missing): ${ramp.map(describe).join('; ')}; load average ${rampLoad}. The runs table holds ${finished!.n} SUCCEEDED runs of the automation; a phase's rate = its deliveries / (phase start → its last delivery).`,
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
