import { execFileSync } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { createSandboxPool, pythonAvailable } from '../../server/src/sandbox/index'
import { pythonInstall } from '../../server/src/sandbox/python'
import { failure, job } from './helpers'

// python3 is installed on every machine this suite runs on: a missing one must fail, not skip.
const pool = createSandboxPool({ warm: 0 })
afterAll(() => pool.stop())

describe('Python scripts', () => {
  it('finds python3', () => {
    expect(pythonAvailable()).toBe(true)
  })

  it('runs the same contract: params in, logs streamed, outputs out', async () => {
    const logs: [string, string][] = []
    const result = await pool.run(
      job(
        'python',
        `log("sum is", params["a"] + params["b"])
log.warn("careful")
print("printed")
set_output("sum", params["a"] + params["b"])
set_output("context", {"region": variables["region"], "user": triggered_by_user, "run": run["id"]})`,
        { onLog: (level, message) => logs.push([level, message]) },
      ),
    )
    expect(result.outputs).toEqual({ sum: 5, context: { region: 'eu', user: 'user-7', run: 'run-1' } })
    expect(logs).toEqual([
      ['INFO', 'sum is 5'],
      ['WARN', 'careful'],
      ['INFO', 'printed'],
    ])
  })

  // The runner starts Python with -S, for speed, and puts back what `site` would have given.
  it('sees the installed packages and has exit(), as under a plain python3', async () => {
    const python = pythonInstall()?.executable ?? 'python3'
    const listing =
      'import json, os, site; print(json.dumps([d for d in site.getsitepackages() if os.path.isdir(d)]))'
    const installed = JSON.parse(
      execFileSync(python, ['-I', '-c', listing], { encoding: 'utf8' }),
    ) as string[]
    const { outputs } = await pool.run(
      job(
        'python',
        'import site, sys\nset_output("dirs", [d for d in site.getsitepackages() if d in sys.path])',
      ),
    )
    expect(outputs.dirs).toEqual(installed)
    const exited = await failure(pool, job('python', 'exit(3)'), 'FAILED')
    expect(exited.message).toBe('the script exited with 3')
    expect((await pool.run(job('python', 'quit()\nset_output("after", True)'))).outputs).toEqual({})
  })

  it('supports top-level await', async () => {
    const code = 'import asyncio\nawait asyncio.sleep(0.01)\nset_output("ok", True)'
    expect((await pool.run(job('python', code))).outputs).toEqual({ ok: true })
  })

  it('reports fail(), exceptions and syntax errors as FAILED with their line', async () => {
    const failed = await failure(
      pool,
      job('python', 'try:\n    fail("no rows")\nexcept BaseException:\n    pass'),
      'FAILED',
    )
    expect(failed.message).toBe('no rows')
    const raised = await failure(pool, job('python', 'x = 1\n\nraise ValueError("bad input")'), 'FAILED')
    expect(raised.message).toBe('ValueError: bad input (line 3, column 1)')
    const syntax = await failure(pool, job('python', 'x = 1\ndef f(:\n    pass'), 'FAILED')
    expect(syntax.message).toMatch(/^SyntaxError: .+ \(line 2, column \d+\)$/)
  })

  // Refused by Landlock, or absent altogether where the script has a mount and pid namespace of its own.
  const deniedOrAbsent = /^(PermissionError|FileNotFoundError|ProcessLookupError)/

  it('cannot read /etc/passwd or the server, spawn programs or signal the server', async () => {
    const passwd = await failure(pool, job('python', 'open("/etc/passwd").read()'), 'FAILED')
    expect(passwd.message).toMatch(/^PermissionError/)
    const server = await failure(
      pool,
      job('python', `import os\nos.listdir(${JSON.stringify(process.cwd())})`),
      'FAILED',
    )
    expect(server.message).toMatch(deniedOrAbsent)
    const environ = await failure(
      pool,
      job('python', `open("/proc/${process.pid}/environ").read()`),
      'FAILED',
    )
    expect(environ.message).toMatch(deniedOrAbsent)
    const spawn = await failure(pool, job('python', 'import subprocess\nsubprocess.run(["id"])'), 'FAILED')
    expect(spawn.message).toMatch(/^PermissionError/)
    const signal = await failure(pool, job('python', `import os\nos.kill(${process.pid}, 0)`), 'FAILED')
    expect(signal.message).toMatch(deniedOrAbsent)
  })

  it('sees a scrubbed environment and its own writable temp dir', async () => {
    const { outputs } = await pool.run(
      job(
        'python',
        'import os\nopen("a.txt", "w").write("kept")\nset_output("env", dict(os.environ))\nset_output("read", open("a.txt").read())',
      ),
    )
    expect(outputs.read).toBe('kept')
    expect(
      Object.keys(outputs.env as object).filter(
        (name) => !['PATH', 'LANG', 'TZ', 'LC_CTYPE', 'PWD'].includes(name),
      ),
    ).toEqual([])
  })

  it('reports running out of memory as MEMORY, and runs past the timeout as TIMEOUT', async () => {
    await failure(pool, job('python', 'data = bytearray(8 * 1024 ** 3)', { memoryMb: 64 }), 'MEMORY')
    await failure(pool, job('python', 'while True:\n    pass', { timeoutMs: 300 }), 'TIMEOUT')
  })
})
