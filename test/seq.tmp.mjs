import { createSandboxPool } from '/work/wt/py10/server/src/sandbox/index.ts'
const FIBO = 'def fibo(n):\n    return n if n < 2 else fibo(n - 1) + fibo(n - 2)\n\nset_output("fibo", fibo(10))'
const job = { language: 'python', code: FIBO, args: { params: {}, variables: {}, triggered_by_user: null, run: { id: 'b' } }, timeoutMs: 10000 }
const GAP = Number(process.env.GAP ?? 10)
const pool = createSandboxPool({ warm: Number(process.env.WARM ?? 2) })
await pool.run(job)
await new Promise((r) => setTimeout(r, 1000))
const t0 = performance.now(); const s = []
for (let i = 0; i < 40; i++) { const t = performance.now(); await pool.run(job); s.push(performance.now() - t); await new Promise((r) => setTimeout(r, GAP)) }
const total = performance.now() - t0
console.log(`gap ${GAP} warm ${process.env.WARM ?? 2}: total ${total.toFixed(0)} ms, job ms:`, s.map((x) => x.toFixed(0)).join(' '))
await pool.stop()
