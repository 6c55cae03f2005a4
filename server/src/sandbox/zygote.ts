import { readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { PYTHON_FLAGS, type SandboxProcess, sandboxProcessOf, scrubbedEnv } from './child'
import { type SandboxIsolation, bwrapArgs } from './isolation'
import type { JobSocket } from './job-socket'
import type { LaunchExit, LaunchedProcess, Launcher } from './launch'
import { splitLines } from './lines'
import { makeSandboxDir, removeSandboxDir } from './tempdirs'
import { processTree, treeRssMb } from './tree'

/**
 * Zygote: a long-lived Python fork server per Python spec (memory cap), under bwrap like a
 * sandbox process, that forks one process per job into namespaces of the job's own (zygote.py,
 * namespaces.py). A job thus pays for a fork and a few namespaces, not for bwrap and an
 * interpreter. What a forked job is to the pool does not change: a SandboxProcess that runs
 * one job and is then killed.
 */
export interface Zygote {
  /**
   * Settles once the zygote is ready to fork (true), or else says why not; `unavailable`
   * when this host cannot nest the job namespaces at all (its probe), not a passing failure.
   */
  readonly started: Promise<true | { reason: string; unavailable: boolean }>
  readonly alive: boolean
  /** Jobs forked and not yet gone. */
  readonly jobs: number
  /** A new job process; it says ready on its channel like any sandbox process. */
  fork(): SandboxProcess
  /** Kills the zygote, and with it every job it forked. */
  stop(): void
  readonly exited: Promise<void>
}

export interface ZygoteOptions {
  memoryMb: number
  python: string
  /** zygote.py, or its bytecode beside the runner's. */
  entry: string
  readOnly: readonly string[]
  isolation: Extract<SandboxIsolation, { mode: 'namespaces' }>
  proxySocket?: string
  jobSocket: JobSocket
  launcher: Launcher
}

type ZygoteEvent =
  | { type: 'ready'; pid: number }
  | { type: 'unavailable'; message: string }
  | { type: 'forked'; token: string; pid: number }
  | { type: 'exit'; token: string; code: number | null; signal: NodeJS.Signals | null }

interface ForkedJob {
  exited(exit: LaunchExit): void
  forked(pid: number): void
}

/** NSpid and PPid of a process: its pid in each pid namespace from the host's down, and its parent. */
async function pidsOf(pid: number): Promise<{ pid: number; nspid: number[]; ppid: number } | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  const nspid = status
    .match(/^NSpid:\s+(.*)$/m)?.[1]
    ?.trim()
    .split(/\s+/)
    .map(Number)
  const ppid = Number(status.match(/^PPid:\s+(\d+)$/m)?.[1])
  return nspid ? { pid, nspid, ppid } : undefined
}

/**
 * The host pid of a job's pid 1, from bwrap's pid (the launcher's child) and the middle
 * process's pid in the zygote's namespace: the watchdog measures the job's own tree, not
 * the zygote or the middle (both forks of the zygote, whose shared pages count as theirs).
 */
async function jobPid(bwrapPid: number, middle: number): Promise<number | undefined> {
  const all = (await Promise.all((await processTree(bwrapPid)).map(pidsOf))).filter((p) => p !== undefined)
  const depth = all.find((p) => p.pid === bwrapPid)?.nspid.length
  if (depth === undefined) return undefined
  const mid = all.find((p) => p.nspid.length === depth + 1 && p.nspid.at(-1) === middle)
  return all.find((p) => mid && p.ppid === mid.pid && p.nspid.length === depth + 2)?.pid
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? ''
}

export async function startZygote(options: ZygoteOptions): Promise<Zygote> {
  const dir = await makeSandboxDir()
  const socketDir = dirname(options.jobSocket.path)
  const proxyDir = options.proxySocket ? dirname(options.proxySocket) : undefined
  const mounts = [
    ...bwrapArgs({ dir, readOnly: options.readOnly, proxyDir }),
    '--ro-bind',
    socketDir,
    socketDir,
  ]
  const command = [
    options.python,
    ...PYTHON_FLAGS,
    options.entry,
    String(options.memoryMb),
    options.jobSocket.path,
  ]
  const child = options.launcher.launch({
    command: options.isolation.bwrap,
    args: [...mounts, ...command],
    cwd: dir,
    env: scrubbedEnv(options),
  })
  const jobs = new Map<string, ForkedJob>()
  let alive = true
  let stderr = ''
  let started!: (result: true | { reason: string; unavailable: boolean }) => void
  const startedPromise = new Promise<true | { reason: string; unavailable: boolean }>((resolve) => {
    started = resolve
  })

  splitLines(child.channel, 4096, (line) => {
    let event: ZygoteEvent
    try {
      event = JSON.parse(line) as ZygoteEvent
    } catch {
      return
    }
    if (event.type === 'ready') started(true)
    else if (event.type === 'unavailable') started({ reason: event.message, unavailable: true })
    else if (event.type === 'forked') jobs.get(event.token)?.forked(event.pid)
    else if (event.type === 'exit') jobs.get(event.token)?.exited({ code: event.code, signal: event.signal })
  })
  // The zygote's own stderr (and its middles'): only for the message when it dies.
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000)
  })
  const exited = child.closed.then(async (exit) => {
    alive = false
    const why = stderr.trim().split('\n').slice(-3).join('\n')
    const how = exit.error?.message ?? exit.signal ?? `exit code ${exit.code}`
    started({
      reason: `the Python zygote ended before it was ready (${how})${why ? `: ${why}` : ''}`,
      unavailable: false,
    })
    for (const job of jobs.values()) job.exited({ code: null, signal: 'SIGKILL' })
    await removeSandboxDir(dir).catch(() => {})
  })

  function fork(): SandboxProcess {
    const streams = options.jobSocket.expect()
    const { token } = streams
    let middle: number | undefined
    let pid: number | undefined
    let exit!: (exit: LaunchExit) => void
    const exitPromise = new Promise<LaunchExit>((resolve) => {
      exit = resolve
    })
    jobs.set(token, {
      forked: (p) => {
        middle = p
      },
      exited: (e) => {
        if (!jobs.delete(token)) return
        if (!alive) streams.note('the Python zygote this job was forked from died, and the job with it')
        // The middle process says on the zygote's stderr why it could not make the job's namespaces.
        else if (!streams.connected)
          streams.note(`the Python zygote could not start this job: ${lastLine(stderr)}`)
        exit(e)
      },
    })
    if (alive) child.write(`${JSON.stringify({ type: 'fork', token })}\n`)
    else
      jobs
        .get(token)
        ?.exited({ code: null, signal: null, error: new Error('the Python zygote is not running') })

    const launched: LaunchedProcess = {
      get pid() {
        return pid
      },
      stdout: streams.stdout,
      stderr: streams.stderr,
      channel: streams.channel,
      exit: exitPromise.then(() => {}),
      closed: exitPromise.then(async (e) => {
        await streams.close()
        return e
      }),
      write: (data) => streams.write(data),
      // The zygote kills the middle process; the job, pid 1 of its namespace, dies with it (pdeathsig).
      kill: () => {
        if (alive && jobs.has(token)) child.write(`${JSON.stringify({ type: 'kill', token })}\n`)
      },
    }
    return sandboxProcessOf({ language: 'python', memoryMb: options.memoryMb }, launched, {
      cleanup: () => Promise.resolve(),
      killTreeFirst: false,
      rssMb: async () => {
        if (pid === undefined && middle !== undefined && child.pid !== undefined)
          pid = await jobPid(child.pid, middle)
        return pid === undefined ? undefined : treeRssMb(pid)
      },
    })
  }

  return {
    started: startedPromise,
    get alive() {
      return alive
    },
    get jobs() {
      return jobs.size
    },
    fork,
    stop: () => child.kill(),
    exited,
  }
}
