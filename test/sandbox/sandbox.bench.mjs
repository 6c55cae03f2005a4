// Latency of a trivial script through the sandbox pool, warm vs cold.
//   cd /work/main/test && node --import tsx sandbox/sandbox.bench.mjs
// Warm: the pool keeps pre-spawned Node processes; between runs we pause long enough for
// the pool to replenish, as on a server where runs do not arrive back to back.
// Cold: warm = 0, so every run pays for a Node start (with the permission model on).
// Burst: runs back to back with a warm pool, so replenishment cannot keep up.
import { createSandboxPool } from '../../server/src/sandbox/index.ts'

const RUNS = Number(process.env.RUNS ?? 40)
const PAUSE_MS = 250
const job = {
  language: 'javascript',
  code: 'setOutput("sum", params.a + params.b)',
  args: { params: { a: 1, b: 2 }, variables: {}, triggered_by_user: null, run: { id: 'bench' } },
  timeoutMs: 5000,
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function summary(name, samples) {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(1)
  console.log(`${name.padEnd(6)} n=${sorted.length} median=${at(0.5)} ms p90=${at(0.9)} ms min=${at(0)} ms`)
}

async function measure(pool, pause) {
  // The first transform starts esbuild's service; keep that out of the numbers.
  await pool.run(job)
  await sleep(PAUSE_MS)
  const samples = []
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now()
    const result = await pool.run(job)
    samples.push(performance.now() - started)
    if (result.outputs.sum !== 3) throw new Error('wrong result')
    if (pause) await sleep(PAUSE_MS)
  }
  return samples
}

const warm = createSandboxPool({ warm: 2 })
summary('warm', await measure(warm, true))
summary('burst', await measure(warm, false))
await warm.stop()

const cold = createSandboxPool({ warm: 0 })
summary('cold', await measure(cold, true))
await cold.stop()
