import { spawn } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createSandboxPool } from '../../server/src/sandbox/index'
import { eventually, job, launcherChildren, pidsIn, sandboxChildren } from './helpers'

// Its own file, so no other pool's processes are children of this worker while we count them.
describe('pool lifecycle', () => {
  it('holds no process while idle: none before its first job, and its launcher goes once they drained', async () => {
    const local = createSandboxPool({ warm: 2, warmIdleMs: 1000 })
    try {
      // Nothing is started ahead of a first job: an idle worker holds no sandbox and no launcher.
      await new Promise((r) => setTimeout(r, 500))
      expect(local.stats.warm).toBe(0)
      expect(launcherChildren()).toEqual([])
      expect((await local.run(job('javascript', 'return { ok: true }'))).outputs).toEqual({ ok: true })
      // Its launcher stays for the warm processes the job set booting...
      expect(launcherChildren()).toHaveLength(1)
      await eventually(() => sandboxChildren().length > 0, 'a warm process after the first job')
      // ...and goes once they drained.
      await eventually(() => local.stats.warm === 0, 'the unused processes to drain')
      await eventually(() => launcherChildren().length === 0, 'the idle launcher to stop', 10_000)
      // The next job starts a launcher again.
      expect((await local.run(job('javascript', 'return { again: true }'))).outputs).toEqual({ again: true })
    } finally {
      await local.stop()
    }
    expect(launcherChildren()).toEqual([])
  })

  it('keeps warm processes ready and replenishes them while a job runs', async () => {
    const local = createSandboxPool({ warm: 2 })
    try {
      await local.run(job('javascript', 'return {}'))
      await eventually(() => local.stats.warm === 2, 'two warm processes')
      // Long enough that the replacement is up before it ends.
      const running = local.run(
        job('javascript', 'await new Promise((r) => setTimeout(r, 3000))\nreturn { ok: true }'),
      )
      await eventually(() => local.stats.busy === 1, 'the job to start')
      await eventually(() => local.stats.warm === 2 && local.stats.busy === 1, 'the pool to replenish')
      expect((await running).outputs).toEqual({ ok: true })
      expect(local.stats).toEqual({ warm: 2, busy: 0 })
    } finally {
      await local.stop()
    }
  })

  it('stop() kills idle and running processes and leaves none behind', async () => {
    const local = createSandboxPool({ warm: 2 })
    await local.run(job('javascript', 'return {}'))
    await eventually(() => local.stats.warm === 2, 'two warm processes')
    // Caught now: they reject during stop(), before the expectations below look at them.
    const running = local
      .run(job('javascript', 'await new Promise((r) => setTimeout(r, 30000))'))
      .catch((e) => e)
    const python = local.run(job('python', 'import time\ntime.sleep(30)')).catch((e) => e)
    await eventually(() => sandboxChildren().length >= 3 && local.stats.busy === 2, 'the jobs to start')
    await local.stop()
    expect(await running).toMatchObject({ reason: 'CANCELLED', message: 'the sandbox pool was stopped' })
    expect(await python).toMatchObject({ reason: 'CANCELLED' })
    expect(sandboxChildren()).toEqual([])
    expect(launcherChildren()).toEqual([])
    expect(local.stats).toEqual({ warm: 0, busy: 0 })
    await expect(local.run(job('javascript', 'return {}'))).rejects.toThrow(/stopped/)
  })

  it('a launcher that dies takes its sandboxes along: their runs are CRASHED, the next run gets a new launcher', async () => {
    const local = createSandboxPool({ warm: 1 })
    try {
      await local.run(job('javascript', 'return {}'))
      await eventually(() => local.stats.warm === 1, 'a warm process')
      const running = local
        .run(job('javascript', 'await new Promise((r) => setTimeout(r, 30000))'))
        .catch((e) => e)
      await eventually(() => local.stats.busy === 1 && sandboxChildren().length >= 1, 'the job to start')
      const [first] = launcherChildren()
      const sandboxes = sandboxChildren()
      process.kill(Number(first), 'SIGKILL')
      expect(await running).toMatchObject({ reason: 'CRASHED' })
      await eventually(() => sandboxes.every((pid) => !existsSync(`/proc/${pid}`)), 'its sandboxes to die')
      expect((await local.run(job('python', 'set_output("ok", True)'))).outputs).toEqual({ ok: true })
      expect(launcherChildren()).not.toContain(first)
    } finally {
      await local.stop()
    }
  })

  it('sandboxes die with a server that is killed, even mid-loop; the next server removes their dirs', async () => {
    const fixture = fileURLToPath(new URL('./orphan-fixture.ts', import.meta.url))
    const server = spawn(process.execPath, ['--import', 'tsx', fixture], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const dirs: string[] = []
    const pids: number[] = []
    let serverPid = 0
    server.stdout.setEncoding('utf8').on('data', (text: string) => {
      for (const match of text.matchAll(/dir (\S+)/g)) dirs.push(String(match[1]))
      serverPid ||= Number(text.match(/server (\d+)/)?.[1] ?? 0)
    })
    // Processes whose command line names one of its dirs: the Python zygote and its bwrap among them.
    const named = () =>
      readdirSync('/proc').filter((entry) => {
        try {
          return readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(`switchyard-sandbox-${serverPid}-`)
        } catch {
          return false
        }
      })
    const orphanedDirs = () =>
      readdirSync(tmpdir()).filter((name) => name.startsWith(`switchyard-sandbox-${serverPid}-`))
    try {
      await eventually(() => dirs.length === 2, 'both scripts to start', 20_000)
      // Every process of both sandboxes, as the host sees them (bwrap, its init, the runner).
      for (const dir of dirs) pids.push(...pidsIn(dir))
      expect(pids.length).toBeGreaterThanOrEqual(2)
      expect(orphanedDirs().length).toBeGreaterThanOrEqual(2)
      expect(named().length).toBeGreaterThan(0)
    } finally {
      server.kill('SIGKILL')
    }
    await eventually(() => pids.every((pid) => !existsSync(`/proc/${pid}`)), 'the sandboxes to die')
    await eventually(() => named().length === 0, 'the zygote to die with the server')
    await eventually(() => server.exitCode !== null || server.signalCode !== null, 'the server to be gone')
    const next = createSandboxPool({ warm: 0 })
    await next.stop()
    expect(orphanedDirs()).toEqual([])
  })
})
