/**
 * `npm run bench [W1 W3 ...]`: runs the benchmarks of shared/BENCHMARKS.md
 * against the PostgreSQL in DATABASE_URL (a fresh database per workload and per
 * system, dropped afterwards) and prints one table. It reports; it never asserts.
 */
import { cpus } from 'node:os'
import { serverVersion } from './lib/database'
import { type WorkloadResult, renderTable } from './lib/report'

const WORKLOADS: Record<string, { title: string; run: () => Promise<WorkloadResult> }> = {
  W1: { title: 'chain of 40 NOOP steps', run: async () => (await import('./workloads/w1-chain')).w1() },
  W2: { title: 'chain of 10 CPU steps', run: async () => (await import('./workloads/w2-cpu-chain')).w2() },
  W3: { title: 'burn-down of 100,000 runs', run: async () => (await import('./workloads/w3-burndown')).w3() },
  W4: { title: 'trigger to start', run: async () => (await import('./workloads/w4-trigger')).w4() },
  W5: { title: 'live status fan-out', run: async () => (await import('./workloads/w5-fanout')).w5() },
  W6: { title: 'cron under load', run: async () => (await import('./workloads/w6-cron')).w6() },
  W7: { title: 'mutex hand-off', run: async () => (await import('./workloads/w7-mutex')).w7() },
  W8: { title: 'footprint', run: async () => (await import('./workloads/w8-footprint')).w8() },
  W9: { title: 'workflows (W9 and W10)', run: async () => (await import('./workloads/w9-workflow')).w9() },
}

// Each workload drops its databases WITH (FORCE). A competitor's pool that still holds an
// idle connection then gets "terminating connection due to administrator command" (57P01)
// as an 'error' event after the fact; that must not take the whole table down with it.
process.on('uncaughtException', (err: Error & { code?: string }) => {
  if (err.code === '57P01') {
    console.error(`bench: ignored a pool error after its database was dropped: ${err.message}`)
    return
  }
  console.error(err)
  process.exit(1)
})

async function main(): Promise<number> {
  const args = process.argv.slice(2).map((a) => a.toUpperCase())
  const unknown = args.filter((a) => !(a in WORKLOADS))
  if (unknown.length > 0) {
    console.error(`unknown workload ${unknown.join(', ')}; choose from ${Object.keys(WORKLOADS).join(' ')}`)
    return 2
  }
  const names = args.length > 0 ? args : Object.keys(WORKLOADS)
  let header: string
  try {
    header = await serverVersion()
  } catch (err) {
    console.error(`bench: ${(err as Error).message}`)
    return 2
  }
  const machine = `${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}), Node ${process.version}`
  console.log(`Switchyard benchmarks on ${machine}; ${header}\n`)
  const results: WorkloadResult[] = []
  let failed = 0
  for (const name of names) {
    const w = WORKLOADS[name]!
    const t0 = Date.now()
    process.stdout.write(`${name} ${w.title} … `)
    try {
      const r = await w.run()
      results.push(r)
      console.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
    } catch (err) {
      failed++
      console.log(`FAILED after ${((Date.now() - t0) / 1000).toFixed(1)} s`)
      console.error((err as Error).stack ?? err)
      results.push({
        id: name,
        title: `${w.title}: FAILED (${(err as Error).message})`,
        figures: [],
        against: [],
      })
    }
  }
  console.log(`\n${renderTable(results)}`)
  return failed > 0 ? 1 : 0
}

main().then(
  (code) => {
    process.exitCode = code
    // Everything should be stopped by now; say so if something still holds the process open.
    const leftovers = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap')
    if (leftovers.length > 0) {
      setTimeout(() => {
        const still = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap')
        if (still.length > 0) console.error(`bench: still open after the run: ${still.join(', ')}`)
      }, 2000).unref()
    }
  },
  (err) => {
    console.error(err)
    process.exitCode = 1
  },
)
