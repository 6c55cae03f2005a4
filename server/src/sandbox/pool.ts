import { dirname, join } from 'node:path'
import { type EgressProxy, startEgressProxy } from '../egress/proxy'
import { coerceError } from '../errors'
import {
  NODE_RUNNER,
  PYTHON_RUNNER,
  type SandboxProcess,
  type SpawnOptions,
  UNDICI_DIR,
  spawnSandbox,
} from './child'
import { type CompiledScript, compileScript } from './compile'
import { runOnProcess } from './job'
import { DEFAULT_MEMORY_MB } from './limits'
import { installDirOf, resolveIsolation } from './isolation'
import { pythonInstall } from './python'
import { makeSandboxDir, removeSandboxDir, sweepOrphanedDirs } from './tempdirs'
import { type SandboxPool, type SandboxPoolOptions, ScriptError, type ScriptJob } from './types'

/** Python positions come from the runner already in the user's lines. */
function pythonScript(code: string): CompiledScript {
  return { source: code, toUserPosition: (line, column) => ({ line, column }) }
}

function serialiseArgs(args: Record<string, unknown>): Record<string, unknown> {
  try {
    // A round trip both checks and freezes what the script will see.
    return JSON.parse(JSON.stringify(args)) as Record<string, unknown>
  } catch (err) {
    const message = `the script arguments are not JSON-serialisable: ${coerceError(err).message}`
    throw new ScriptError('FAILED', message, { cause: err })
  }
}

function checkJob(job: ScriptJob): void {
  if (!Number.isFinite(job.timeoutMs) || job.timeoutMs <= 0) {
    throw new RangeError(`timeoutMs must be a positive number of milliseconds, got ${job.timeoutMs}`)
  }
  const memoryMb = job.memoryMb ?? DEFAULT_MEMORY_MB
  if (!Number.isInteger(memoryMb) || memoryMb < 32) {
    throw new RangeError(`memoryMb must be an integer of at least 32, got ${memoryMb}`)
  }
}

/**
 * Creates the pool that runs SCRIPT jobs. Every job gets a fresh process that is killed
 * when it ends; `warm` Node processes (default 2) wait idle on their stdin with the default heap
 * cap so a short script skips Node's start. A job with another `memoryMb`, or in Python,
 * starts its own process. `stop()` kills everything, running jobs included. Processes are
 * contained as `isolation` says (see isolation.ts); namespaced ones reach the network only
 * through an egress proxy the pool runs for them, and only when `egress` is given.
 */
export function createSandboxPool(opts: SandboxPoolOptions = {}): SandboxPool {
  const warmTarget = opts.warm ?? 2
  const nodePath = opts.nodePath ?? process.execPath
  const isolation = opts.isolation ?? resolveIsolation({ mode: 'auto', directNetwork: false })
  // Only a namespaced script needs the proxy: its network namespace has no other way out.
  const proxy: Promise<EgressProxy | undefined> =
    isolation.mode === 'namespaces' && opts.egress ? startProxy(opts.egress) : Promise.resolve(undefined)
  // A failed proxy surfaces on the first spawn, as a CRASHED script that says why.
  proxy.catch(() => {})
  const nodeOptions = {
    language: 'node',
    executable: nodePath,
    isolation,
    readOnly: [installDirOf(nodePath), NODE_RUNNER, UNDICI_DIR],
  } as const
  const idle: SandboxProcess[] = []
  // Every process not yet gone, idle or busy, and spawns still under way: what stop() waits for.
  const live = new Set<SandboxProcess>()
  const spawning = new Set<Promise<SandboxProcess>>()
  let warmSpawning = 0
  let busy = 0
  let stopped = false
  const stopping = new AbortController()

  function spawnTracked(options: Omit<SpawnOptions, 'proxySocket'>): Promise<SandboxProcess> {
    const pending = proxy
      .then((p) => spawnSandbox({ ...options, proxySocket: p?.socketPath }))
      .then((proc) => {
        live.add(proc)
        proc.exited.then(() => live.delete(proc))
        // stop() may have run while the temp dir was being made.
        if (stopped) proc.kill()
        return proc
      })
    spawning.add(pending)
    const forget = () => spawning.delete(pending)
    pending.then(forget, forget)
    return pending
  }

  function replenish(): void {
    while (!stopped && idle.length + warmSpawning < warmTarget) {
      warmSpawning++
      spawnTracked({ ...nodeOptions, memoryMb: DEFAULT_MEMORY_MB }).then(
        (proc) => {
          warmSpawning--
          if (stopped || !proc.alive) return
          idle.push(proc)
          // An idle process that dies is dropped; the next job replaces it (no respawn loop
          // when Node cannot start at all).
          proc.exited.then(() => {
            const index = idle.indexOf(proc)
            if (index >= 0) idle.splice(index, 1)
          })
        },
        () => {
          // No temp dir (disk full?): the next job spawns cold and reports the error itself.
          warmSpawning--
        },
      )
    }
  }

  function takeWarm(memoryMb: number): SandboxProcess | undefined {
    if (memoryMb !== DEFAULT_MEMORY_MB) return undefined
    // A booted process first; one still booting is yet sooner than a fresh spawn.
    const index = idle.findIndex((proc) => proc.alive && proc.ready)
    const [proc] = idle.splice(Math.max(index, 0), 1)
    return proc?.alive ? proc : undefined
  }

  async function processFor(job: ScriptJob, memoryMb: number): Promise<SandboxProcess> {
    let options: Omit<SpawnOptions, 'proxySocket'> = { ...nodeOptions, memoryMb }
    if (job.language === 'python') {
      const python = pythonInstall()
      if (!python) {
        throw new ScriptError('FAILED', 'Python scripts need python3, which is not installed on this server')
      }
      const readOnly = [
        installDirOf(python.executable),
        ...python.prefixes,
        PYTHON_RUNNER,
        join(dirname(PYTHON_RUNNER), 'landlock.py'),
      ]
      options = { language: 'python', memoryMb, executable: python.executable, isolation, readOnly }
    } else {
      const warm = takeWarm(memoryMb)
      if (warm) return warm
    }
    try {
      return await spawnTracked(options)
    } catch (err) {
      // No temp dir or no process (disk full, process table full): the host, not the script.
      const message = `could not start the sandbox process: ${coerceError(err).message}`
      throw new ScriptError('CRASHED', message, { cause: err })
    }
  }

  const swept = sweepOrphanedDirs()
  replenish()

  return {
    async run(job) {
      if (stopped) throw new Error('the sandbox pool is stopped; create a new one to run scripts')
      checkJob(job)
      if (job.signal?.aborted) throw new ScriptError('CANCELLED', 'the run was cancelled')
      const memoryMb = job.memoryMb ?? DEFAULT_MEMORY_MB
      const args = serialiseArgs(job.args)
      const compiled =
        job.language === 'python' ? pythonScript(job.code) : await compileScript(job.language, job.code)
      busy++
      try {
        const proc = await processFor(job, memoryMb)
        return await runOnProcess(proc, job, compiled, args, stopping.signal)
      } finally {
        busy--
        // After the job rather than at its start: a Node boot next to a short script
        // would compete with it for the CPU and double its latency.
        replenish()
      }
    },

    async stop() {
      stopped = true
      idle.length = 0
      // Running jobs reject with CANCELLED before their processes die.
      stopping.abort()
      for (const proc of live) proc.kill()
      await Promise.allSettled([...spawning, swept])
      await Promise.all([...live].map((proc) => proc.exited))
      const running = await proxy.catch(() => undefined)
      if (running) {
        await running.stop()
        await removeSandboxDir(dirname(running.socketPath))
      }
    },

    isolation,

    get stats() {
      return { warm: idle.length, busy }
    },
  }
}

/** The egress proxy on a socket in a dir of its own (swept like sandbox dirs if the server dies). */
async function startProxy(egress: NonNullable<SandboxPoolOptions['egress']>): Promise<EgressProxy> {
  const dir = await makeSandboxDir()
  try {
    return await startEgressProxy(egress, join(dir, 'egress.sock'))
  } catch (err) {
    await removeSandboxDir(dir)
    throw err
  }
}
