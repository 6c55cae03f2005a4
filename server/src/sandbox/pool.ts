import { dirname, extname, join } from 'node:path'
import { type EgressProxy, startEgressProxy } from '../egress/proxy'
import { coerceError } from '../errors'
import {
  NODE_RUNNER,
  PYTHON_RUNNER,
  PYTHON_RUNNER_FILES,
  type SandboxProcess,
  type SpawnOptions,
  UNDICI_DIR,
  launcherPrefix,
  spawnSandbox,
} from './child'
import { type CompiledScript, compileScript } from './compile'
import { runOnProcess } from './job'
import { createLauncher } from './launch'
import { DEFAULT_MEMORY_MB } from './limits'
import { type SandboxIsolation, installDirOf, resolveIsolation } from './isolation'
import { compileRunner, pythonInstall } from './python'
import { makeSandboxDir, removeSandboxDir, sweepOrphanedDirs } from './tempdirs'
import { type SandboxPool, type SandboxPoolOptions, ScriptError, type ScriptJob } from './types'
import { type SandboxSpec, createWarmProcesses } from './warm'
import { createZygotes } from './zygotes'

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

/** Defaults of {@link SandboxPoolOptions}: idle processes per spec, and how long an unused spec stays warm. */
const DEFAULT_WARM = 2
const DEFAULT_WARM_IDLE_MS = 60_000
/** Specs (language and memory cap) kept warm at once; see warm.ts. */
const MAX_WARM_SPECS = 4

/**
 * Creates the pool that runs SCRIPT jobs. Every job gets a fresh process that is killed
 * when it ends. To spare a job the start of its runtime, up to `warm` processes per spec
 * (language and memory cap) are started ahead of need and wait, confined, for one job each
 * (warm.ts): a spec is kept warm from its first job on and drained after `warmIdleMs` without one. `stop()` kills everything, running
 * jobs included. Processes are contained as `isolation` says (see isolation.ts); namespaced
 * ones reach the network only through an egress proxy the pool runs for them, and only when
 * `egress` is given. Namespaced Python processes are forks of a zygote per memory cap
 * (zygotes.ts), each in namespaces of its own, rather than a bwrap and an interpreter per job.
 */
export function createSandboxPool(opts: SandboxPoolOptions = {}): SandboxPool {
  const nodePath = opts.nodePath ?? process.execPath
  const isolation = opts.isolation ?? resolveIsolation({ mode: 'auto', directNetwork: false })
  // Only a namespaced script needs the proxy: its network namespace has no other way out.
  const proxy: Promise<EgressProxy | undefined> =
    isolation.mode === 'namespaces' && opts.egress ? startProxy(opts.egress) : Promise.resolve(undefined)
  // A failed proxy surfaces on the first spawn, as a CRASHED script that says why.
  proxy.catch(() => {})
  // Every process not yet gone, idle or busy, and spawns still under way: what stop() waits for.
  const live = new Set<SandboxProcess>()
  const spawning = new Set<Promise<SandboxProcess>>()
  // Forks every sandbox process, so the server's own fork() (slow in a big process) is not paid per job.
  const launcher = createLauncher({
    node: process.execPath,
    prefix: launcherPrefix(),
    idleMs: opts.warmIdleMs ?? DEFAULT_WARM_IDLE_MS,
  })
  let busy = 0
  let stopped = false
  const stopping = new AbortController()

  // Compiled for the pool's first Python process, then shared by all.
  let pythonRunner: Promise<PythonRunner> | undefined
  const compiledRunner = () => {
    pythonRunner ??= compiledPythonRunner(pythonInstall()?.executable ?? 'python3')
    return pythonRunner
  }

  // Python jobs are forked by a zygote per memory cap where namespaces nest (zygote.ts);
  // elsewhere, and for Node, each job is a process of its own.
  const zygotes =
    isolation.mode === 'namespaces'
      ? createZygotes({
          isolation,
          launcher,
          max: MAX_WARM_SPECS,
          idleMs: opts.warmIdleMs ?? DEFAULT_WARM_IDLE_MS,
          setup: () =>
            Promise.all([
              proxy,
              spawnOptions({ language: 'python', memoryMb: 0 }, nodePath, isolation, compiledRunner),
            ]).then(([p, options]) => ({
              python: options.executable,
              entry: zygoteEntry(options.entry),
              readOnly: options.readOnly,
              proxySocket: p?.socketPath,
            })),
        })
      : undefined

  async function spawnProcess(spec: SandboxSpec): Promise<SandboxProcess> {
    const forked = spec.language === 'python' ? await zygotes?.fork(spec.memoryMb) : undefined
    if (forked) return forked
    const [p, options] = await Promise.all([proxy, spawnOptions(spec, nodePath, isolation, compiledRunner)])
    return spawnSandbox({ ...options, proxySocket: p?.socketPath }, launcher)
  }

  function spawnTracked(spec: SandboxSpec): Promise<SandboxProcess> {
    const pending = spawnProcess(spec).then((proc) => {
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

  const warm = createWarmProcesses({
    size: opts.warm ?? DEFAULT_WARM,
    idleMs: opts.warmIdleMs ?? DEFAULT_WARM_IDLE_MS,
    maxSpecs: MAX_WARM_SPECS,
    spawn: spawnTracked,
  })

  async function processFor(spec: SandboxSpec): Promise<SandboxProcess> {
    const ready = warm.take(spec)
    if (ready) return ready
    try {
      return await spawnTracked(spec)
    } catch (err) {
      // No temp dir or no process (disk full, process table full): the host, not the script.
      const message = `could not start the sandbox process: ${coerceError(err).message}`
      throw new ScriptError('CRASHED', message, { cause: err })
    }
  }

  // Nothing is started before the first job: an idle worker holds no sandbox, and no
  // launcher, at all (a JavaScript process is about 40 MB, the launcher as much again).
  const swept = sweepOrphanedDirs()

  return {
    async run(job) {
      if (stopped) throw new Error('the sandbox pool is stopped; create a new one to run scripts')
      checkJob(job)
      if (job.language === 'python' && !pythonInstall()) {
        throw new ScriptError('FAILED', 'Python scripts need python3, which is not installed on this server')
      }
      if (job.signal?.aborted) throw new ScriptError('CANCELLED', 'the run was cancelled')
      const spec: SandboxSpec = {
        language: job.language === 'python' ? 'python' : 'node',
        memoryMb: job.memoryMb ?? DEFAULT_MEMORY_MB,
      }
      const args = serialiseArgs(job.args)
      const compiled =
        job.language === 'python' ? pythonScript(job.code) : await compileScript(job.language, job.code)
      busy++
      try {
        const proc = await processFor(spec)
        // The replacement boots while the job runs, not after it: in a sequence of short
        // scripts (a workflow's steps) each boot then has one more job's time to be ready by
        // the time it is needed. It costs the job no event loop time (the launcher forks) and,
        // on more than one core, little CPU.
        if (!stopped) warm.refill(spec)
        return await runOnProcess(proc, job, compiled, args, stopping.signal)
      } finally {
        busy--
      }
    },

    async stop() {
      stopped = true
      warm.close()
      // Running jobs reject with CANCELLED before their processes die.
      stopping.abort()
      for (const proc of live) proc.kill()
      await Promise.allSettled([...spawning, swept])
      await Promise.all([...live].map((proc) => proc.exited))
      await zygotes?.stop()
      await launcher.stop()
      const runner = await pythonRunner
      if (runner?.dir) await removeSandboxDir(runner.dir)
      const running = await proxy.catch(() => undefined)
      if (running) {
        await running.stop()
        await removeSandboxDir(dirname(running.socketPath))
      }
    },

    isolation,

    get stats() {
      return { warm: warm.idle, busy }
    },
  }
}

/** The file a Python sandbox executes, and what of the runner it must see for that. */
interface PythonRunner {
  entry: string
  readOnly: string[]
  /** The pool's dir of compiled bytecode, removed at stop(). */
  dir?: string
}

const PYTHON_SOURCE: PythonRunner = { entry: PYTHON_RUNNER, readOnly: PYTHON_RUNNER_FILES }

/** The runner as bytecode in a dir of its own (swept like sandbox dirs); from source if that fails. */
async function compiledPythonRunner(executable: string): Promise<PythonRunner> {
  const dir = await makeSandboxDir().catch(() => undefined)
  if (!dir) return PYTHON_SOURCE
  try {
    return { entry: await compileRunner(executable, PYTHON_RUNNER_FILES, dir), readOnly: [dir], dir }
  } catch {
    await removeSandboxDir(dir)
    return PYTHON_SOURCE
  }
}

/** How to start a process of the spec: its runtime, and what of the host it must see to run. */
function spawnOptions(
  spec: SandboxSpec,
  nodePath: string,
  isolation: SandboxIsolation,
  pythonRunner: () => Promise<PythonRunner>,
): Promise<Omit<SpawnOptions, 'proxySocket'>> {
  if (spec.language === 'node') {
    const readOnly = [installDirOf(nodePath), NODE_RUNNER, UNDICI_DIR]
    return Promise.resolve({ ...spec, executable: nodePath, entry: NODE_RUNNER, isolation, readOnly })
  }
  const python = pythonInstall()
  // run() refuses Python jobs before this where there is no python3.
  if (!python) return Promise.reject(new Error('python3 is not installed on this server'))
  return pythonRunner().then((runner) => ({
    ...spec,
    executable: python.executable,
    entry: runner.entry,
    isolation,
    readOnly: [installDirOf(python.executable), ...python.prefixes, ...runner.readOnly],
  }))
}

/** The zygote beside the runner it forks, as bytecode or source like the runner. */
function zygoteEntry(runnerEntry: string): string {
  return join(dirname(runnerEntry), `zygote${extname(runnerEntry)}`)
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
