import { existsSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { createSandboxPool } from '../../server/src/sandbox/index'
import { args, eventually, failure, job } from './helpers'

const pool = createSandboxPool({ warm: 2 })
afterAll(() => pool.stop())

describe('script contract (JavaScript / TypeScript)', () => {
  it('passes params in and brings setOutput and returned outputs out', async () => {
    const result = await pool.run(
      job(
        'javascript',
        `setOutput('sum', params.a + params.b)
         setOutput('context', { region: variables.region, user: triggered_by_user, run: run.id })
         return { greeting: 'hello ' + params.name }`,
      ),
    )
    expect(result.outputs).toEqual({
      sum: 5,
      context: { region: 'eu', user: 'user-7', run: 'run-1' },
      greeting: 'hello Ada',
    })
  })

  it('streams logs in order, as they are written', async () => {
    const logs: { level: string; message: string; at: number }[] = []
    const started = Date.now()
    await pool.run(
      job(
        'javascript',
        `log('one', { n: 1 })
         log.warn('two')
         console.error('three')
         log.debug('four')
         console.log('five')
         await new Promise((resolve) => setTimeout(resolve, 600))
         log.error('six')`,
        { onLog: (level, message) => logs.push({ level, message, at: Date.now() - started }) },
      ),
    )
    expect(logs.map(({ level, message }) => [level, message])).toEqual([
      ['INFO', 'one { n: 1 }'],
      ['WARN', 'two'],
      ['ERROR', 'three'],
      ['DEBUG', 'four'],
      ['INFO', 'five'],
      ['ERROR', 'six'],
    ])
    // The first line arrived while the script was still sleeping, not with the result.
    expect(logs[5]!.at - logs[0]!.at).toBeGreaterThanOrEqual(500)
  })

  it('strips TypeScript and maps runtime errors to the lines written', async () => {
    const code = `interface Pair { a: number; b: number }
enum Mode { Sum = 'sum' }
const pair: Pair = params as Pair
const total = (pair.a as number) + pair.b
return { total, mode: Mode.Sum }`
    expect((await pool.run(job('typescript', code))).outputs).toEqual({ total: 5, mode: 'sum' })

    const err = await failure(
      pool,
      job('typescript', `type T = { x?: { y: number } }\n\nconst t: T = {}\nreturn { y: t.x!.y }`),
      'FAILED',
    )
    expect(err.message).toMatch(
      /^TypeError: Cannot read properties of undefined \(reading 'y'\) \(line 4, column \d+\)$/,
    )
    expect(err.line).toBe(4)
  })

  it('reports syntax errors with line and column', async () => {
    const ts = await failure(pool, job('typescript', 'const x: number = 1\nfoo bar'), 'FAILED')
    expect(ts.message).toBe('SyntaxError: Expected ";" but found "bar" (line 2, column 5)')
    const js = await failure(pool, job('javascript', 'const x = 1\nfoo bar'), 'FAILED')
    expect(js.message).toBe("SyntaxError: Unexpected identifier 'bar' (line 2, column 5)")
    expect([js.line, js.column]).toEqual([2, 5])
    const open = await failure(pool, job('javascript', 'if (params.a) {\n  log(1)'), 'FAILED')
    expect(open.message).toMatch(/\(line 2, column 9; the script ends inside an open block/)
  })

  it('ends the script at fail(), even inside try/catch', async () => {
    const logs: string[] = []
    const err = await failure(
      pool,
      job('javascript', `try { fail('amounts do not match') } catch {}\nlog('after fail')`, {
        onLog: (_, message) => logs.push(message),
      }),
      'FAILED',
    )
    expect(err.message).toBe('amounts do not match')
    expect(logs).toEqual([])
  })

  it('turns a thrown error into FAILED with its message and line', async () => {
    const err = await failure(
      pool,
      job('javascript', `log('start')\n\n  throw new Error('bad input')`),
      'FAILED',
    )
    expect(err.message).toBe('Error: bad input (line 3, column 9)')
    const rejected = await failure(
      pool,
      job(
        'javascript',
        'Promise.reject(new RangeError("late"))\nawait new Promise((r) => setTimeout(r, 5000))',
      ),
      'FAILED',
    )
    expect(rejected.message).toMatch(/^RangeError: late \(line 1/)
    const returned = await failure(pool, job('javascript', 'return 42'), 'FAILED')
    expect(returned.message).toMatch(/return an object of outputs/)
  })

  it('reports a process that exits on its own as CRASHED', async () => {
    const err = await failure(pool, job('javascript', 'process.exit(3)'), 'CRASHED')
    expect(err.message).toMatch(/exit code 3/)
  })
})

describe('limits', () => {
  it('kills a script that runs past its timeout', async () => {
    const started = Date.now()
    const err = await failure(pool, job('javascript', 'while (true) {}', { timeoutMs: 300 }), 'TIMEOUT')
    expect(err.message).toMatch(/300 ms/)
    expect(Date.now() - started).toBeLessThan(3000)
  })

  it('kills the process at once when the signal aborts', async () => {
    const controller = new AbortController()
    const logs: string[] = []
    setTimeout(() => controller.abort(), 300)
    const started = Date.now()
    await failure(
      pool,
      job('javascript', `log('waiting')\nawait new Promise((r) => setTimeout(r, 20000))`, {
        signal: controller.signal,
        onLog: (_, message) => logs.push(message),
      }),
      'CANCELLED',
    )
    expect(logs).toEqual(['waiting'])
    expect(Date.now() - started).toBeLessThan(3000)
    await failure(pool, job('javascript', 'return {}', { signal: AbortSignal.abort() }), 'CANCELLED')
  })

  it('stops a script that allocates until it dies, heap or buffers', async () => {
    const heap = await failure(
      pool,
      job('javascript', 'const keep = []\nfor (;;) keep.push({ n: Math.random(), s: "x" + keep.length })', {
        memoryMb: 64,
        timeoutMs: 30_000,
      }),
      'MEMORY',
    )
    expect(heap.message).toMatch(/out of memory \(limit 64 MB\)/)
    // Buffers live outside the V8 heap: the resident-memory watchdog catches them.
    const buffers = await failure(
      pool,
      job('javascript', 'const keep = []\nfor (;;) keep.push(Buffer.alloc(32 * 1024 * 1024, 1))', {
        memoryMb: 64,
        timeoutMs: 30_000,
      }),
      'MEMORY',
    )
    expect(buffers.message).toMatch(/MB of memory, over the \d+ MB allowed/)
  })

  it('caps a log line at 10 KB and outputs at 1 MB', async () => {
    const logs: string[] = []
    await pool.run(job('javascript', `log('x'.repeat(50000))`, { onLog: (_, message) => logs.push(message) }))
    expect(Buffer.byteLength(logs[0]!)).toBeLessThanOrEqual(10 * 1024)
    expect(logs[0]).toMatch(/truncated, 50000 bytes\]$/)

    // A line with no end, written straight to stdout, is cut too; the server never buffers it whole.
    const raw: string[] = []
    await pool.run(
      job(
        'javascript',
        // The pause lets stdout drain before the result (a separate pipe) ends the job.
        `process.stdout.write('y'.repeat(3 * 1024 * 1024) + '\\nafter\\n')\nawait new Promise((r) => setTimeout(r, 300))`,
        { onLog: (_, message) => raw.push(message) },
      ),
    )
    expect(raw).toHaveLength(2)
    expect(Buffer.byteLength(raw[0]!)).toBeLessThanOrEqual(10 * 1024)
    expect(raw[0]).toMatch(/^y+ … \[truncated, over \d+ bytes\]$/)
    expect(raw[1]).toBe('after')

    const big = await failure(
      pool,
      job('javascript', `setOutput('big', 'x'.repeat(2 * 1024 * 1024))`),
      'FAILED',
    )
    expect(big.message).toMatch(/outputs are limited to 1 MB in total/)
    const returned = await failure(
      pool,
      job('javascript', `return { a: 'x'.repeat(600000), b: 'y'.repeat(600000) }`),
      'FAILED',
    )
    expect(returned.message).toMatch(/outputs are limited to 1 MB in total/)
  })

  it('stops passing on logs past 5 MB per job, with one warning', async () => {
    const logs: string[] = []
    await pool.run(
      job('javascript', `for (let i = 0; i < 1000; i++) log(i + ' ' + 'z'.repeat(9000))\nreturn {}`, {
        onLog: (_, message) => logs.push(message),
      }),
    )
    const total = logs.reduce((sum, line) => sum + Buffer.byteLength(line), 0)
    expect(total).toBeLessThanOrEqual(5 * 1024 * 1024 + 200)
    expect(logs.at(-1)).toMatch(/logged more than \d+ bytes; further lines are dropped/)
    expect(logs.length).toBeLessThan(1000)
  })
})

describe('process lifecycle', () => {
  it('runs every job in a fresh process with its own temp dir, removed afterwards', async () => {
    const code =
      'const seen = globalThis.marker ?? null\nglobalThis.marker = 1\nreturn { pid: process.pid, cwd: process.cwd(), seen }'
    const first = (await pool.run(job('javascript', code))).outputs
    const second = (await pool.run(job('javascript', code))).outputs
    // Not by pid: in a pid namespace of its own every runner has the same one.
    expect(second.seen).toBeNull()
    expect(first.cwd).not.toBe(second.cwd)
    await eventually(() => !existsSync(String(first.cwd)), 'the temp dir to be removed')
  })

  it('rejects JSON it cannot send, and keeps args as data', async () => {
    const err = await failure(pool, { ...job('javascript', 'return {}'), args: { n: 1n } }, 'FAILED')
    expect(err.message).toMatch(/not JSON-serialisable/)
    expect(args.params.a).toBe(2)
  })
})
