// W10's script part without the engine: sequential Python fibo(10) jobs through one pool
// with the egress proxy, as a worker runs them. GAP_MS stands in for the engine's own work
// between two steps (a NOOP step costs about that in W9).
//   cd test && node --import tsx bench/python-sandbox.mjs
import { readFileSync } from 'node:fs'
import { createEgress, parseEgressAllow } from '../../server/src/egress/index.ts'
import { createSandboxPool } from '../../server/src/sandbox/index.ts'

const RUNS = Number(process.env.RUNS ?? 40)
const ROUNDS = Number(process.env.ROUNDS ?? 5)
const GAP_MS = Number(process.env.GAP_MS ?? 4)
const FIBO =
  'def fibo(n):\n    return n if n < 2 else fibo(n - 1) + fibo(n - 2)\n\nset_output("fibo", fibo(10))'
const job = {
  language: 'python',
  code: FIBO,
  args: { params: {}, variables: {}, triggered_by_user: null, run: { id: 'bench' } },
  timeoutMs: 10_000,
}
// A server's heap: fork() copies the parent's page tables, so spawning costs grow with its RSS.
const ballast = Array.from({ length: Number(process.env.BALLAST_MB ?? 150) }, () => Buffer.alloc(1 << 20, 1))
/**
 * CPU of this process's cgroup in ms (all its descendants, sandboxes included, which plain
 * rusage misses under bwrap); meaningful when the bench runs in a cgroup of its own, as other
 * load on a shared machine makes wall times noisy. Undefined where it cannot be read.
 */
function cgroupCpuMs() {
  try {
    const lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n')
    const v1 = lines.find((l) => /:(cpu,)?cpuacct(,cpu)?:/.test(l))?.split(':')[2]
    if (v1 !== undefined)
      return Number(readFileSync(`/sys/fs/cgroup/cpuacct${v1}/cpuacct.usage`, 'utf8')) / 1e6
    const v2 = lines.find((l) => l.startsWith('0::'))?.slice(3)
    const stat = readFileSync(`/sys/fs/cgroup${v2}/cpu.stat`, 'utf8')
    return Number(stat.match(/usage_usec (\d+)/)?.[1]) / 1000
  } catch {
    return undefined
  }
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const egress = createEgress({ allow: parseEgressAllow(''), maxHttpResponseBytes: 1e6, maxDownloadBytes: 1e6 })
const pool = createSandboxPool({ warm: Number(process.env.WARM ?? 2), egress })
await pool.run(job)
await sleep(500)
const totals = []
const perJob = []
const cpuBefore = cgroupCpuMs()
for (let round = 0; round < ROUNDS; round++) {
  const started = performance.now()
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now()
    const result = await pool.run(job)
    perJob.push(performance.now() - t)
    if (result.outputs.fibo !== 55) throw new Error('wrong result')
    await sleep(GAP_MS)
  }
  totals.push(performance.now() - started)
  await sleep(500)
}
const cpuAfter = cgroupCpuMs()
const idleMs = ROUNDS * 500
const tree =
  cpuBefore === undefined || cpuAfter === undefined
    ? ''
    : `; cgroup cpu per job ${((cpuAfter - cpuBefore) / (ROUNDS * RUNS)).toFixed(1)} ms (includes ${idleMs} ms of pauses)`
const cpu = process.cpuUsage()
console.log(
  `${RUNS} jobs (gap ${GAP_MS} ms): total median ${median(totals).toFixed(0)} ms; per job median ${median(perJob).toFixed(1)} ms, max ${Math.max(...perJob).toFixed(1)} ms; server cpu user ${(cpu.user / 1000).toFixed(0)} ms sys ${(cpu.system / 1000).toFixed(0)} ms${tree}`,
)
ballast.length = 0
await pool.stop()
await egress.close()
