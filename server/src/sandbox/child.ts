import { accessSync, constants, realpathSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type SandboxIsolation, bwrapArgs } from './isolation'
import type { LaunchExit, LaunchedProcess, Launcher } from './launch'
import { splitLines } from './lines'
import { MAX_LOG_LINE_BYTES, MAX_MESSAGE_CHARS, truncateLine } from './limits'
import type { JobMessage } from './protocol'
import { makeSandboxDir, removeSandboxDir } from './tempdirs'
import { killTree, treeRssMb } from './tree'

// Real paths, because the permission model compares the paths Node resolves.
export const NODE_RUNNER = realpathSync(fileURLToPath(new URL('./runner.mjs', import.meta.url)))
export const PYTHON_RUNNER = realpathSync(fileURLToPath(new URL('./runner.py', import.meta.url)))
/** The Python runner, the modules it imports from its own dir, and the zygote that forks it (zygote.py). */
export const PYTHON_RUNNER_FILES = [
  PYTHON_RUNNER,
  ...['landlock.py', 'libc.py', 'wire.py', 'zygote.py', 'namespaces.py'].map((name) =>
    join(dirname(PYTHON_RUNNER), name),
  ),
]
/** Where the runners' in-sandbox forwarder listens (each sandbox has a loopback of its own). */
export const PROXY_PORT = 3128
/** undici's entry file and package dir: the Node runner loads its ProxyAgent for fetch(). */
export const UNDICI_ENTRY = realpathSync(createRequire(import.meta.url).resolve('undici'))
export const UNDICI_DIR = dirname(UNDICI_ENTRY)

const STDERR_TAIL_CHARS = 8 * 1024

/**
 * util-linux's setpriv, to start sandboxes (and their launcher) with `--pdeathsig KILL`: if
 * the server dies (SIGKILL, OOM killer), the kernel kills its sandboxes too. Runners also exit when their
 * stdin closes, but a script stuck in a synchronous loop never gets to notice.
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
})

/** How a sandbox process ended; `error` when it could not even start. */
export type ChildExit = LaunchExit

export interface ChildEvents {
  message(message: unknown): void
  output(stream: 'stdout' | 'stderr', line: string): void
}

/** One sandbox process: spawned idle, given one job, then killed. */
export interface SandboxProcess {
  readonly language: 'node' | 'python'
  readonly memoryMb: number
  readonly alive: boolean
  /** The runner has started, confined itself and waits for its job (both runners say so). */
  readonly ready: boolean
  /** Settles once the process is gone and its temp dir removed. */
  readonly exited: Promise<ChildExit>
  /** Sends the job; what the process says from then on goes to `events`. Once only. */
  start(job: JobMessage, events: ChildEvents): void
  kill(): void
  stderrTail(): string
  /** Resident memory, from /proc; undefined where that is not readable. */
  rssMb(): Promise<number | undefined>
}

export interface SpawnOptions {
  language: 'node' | 'python'
  memoryMb: number
  /** The node binary, or the resolved python3 interpreter. */
  executable: string
  /** The runner file it executes: runner.mjs, runner.py or the latter's bytecode. */
  entry: string
  isolation: SandboxIsolation
  /** Paths outside the system dirs the runtime reads (its install dir, the runner), mounted in a namespace. */
  readOnly: readonly string[]
  /** The egress proxy's unix socket; without one a namespaced script has no network at all. */
  proxySocket?: string
}

/** Only what a script needs to behave normally; never the server's secrets. */
export function scrubbedEnv(
  options: Pick<SpawnOptions, 'isolation' | 'proxySocket'>,
): Record<string, string> {
  const env: Record<string, string> = {}
  for (const name of ['PATH', 'LANG', 'TZ']) {
    const value = process.env[name]
    if (value !== undefined) env[name] = value
  }
  if (options.isolation.mode === 'namespaces' && options.proxySocket) {
    // The runner forwards this loopback port to the socket; HTTP clients find it through these.
    const proxy = `http://127.0.0.1:${PROXY_PORT}`
    Object.assign(env, {
      SWITCHYARD_EGRESS_SOCKET: options.proxySocket,
      SWITCHYARD_EGRESS_PROXY: proxy,
      SWITCHYARD_UNDICI: UNDICI_ENTRY,
    })
    for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) env[name] = proxy
  }
  if (options.isolation.mode === 'none' && options.isolation.network === 'off')
    env.SWITCHYARD_NO_NETWORK = '1'
  return env
}

function nodeArgs(dir: string, memoryMb: number, entry: string): string[] {
  // Node 20 wants one flag per path: a comma-separated list is read as a single path.
  return [
    '--experimental-permission',
    `--allow-fs-read=${entry}`,
    // Public library code, for fetch() through the egress proxy; nothing of the server's.
    `--allow-fs-read=${UNDICI_DIR}`,
    `--allow-fs-read=${dir}`,
    `--allow-fs-write=${dir}`,
    `--max-old-space-size=${memoryMb}`,
    '--disable-warning=ExperimentalWarning',
    entry,
  ]
}

/** The command line of a sandbox process: bwrap, setpriv or the runtime itself, then the runner. */
/** How Python starts a runner or zygote; its arguments follow. */
export const PYTHON_FLAGS = ['-I', '-S', '-B', '-X', 'utf8']

function commandLine(options: SpawnOptions, dir: string): [string, string[]] {
  const args =
    options.language === 'node'
      ? nodeArgs(dir, options.memoryMb, options.entry)
      : // -I: ignore PYTHON* variables and the user site, keep the runner's dir off sys.path;
        // -S: skip site's start-up hooks (the runner puts site-packages on sys.path itself);
        // -B: write no __pycache__ next to the runner (the server's tree is not the script's).
        // The memory cap is known at spawn, so a warm runner sets its limits before any job.
        [...PYTHON_FLAGS, options.entry, String(options.memoryMb)]
  const { isolation } = options
  const proxyDir = options.proxySocket ? dirname(options.proxySocket) : undefined
  if (isolation.mode === 'namespaces') {
    // --die-with-parent stands in for setpriv's pdeathsig; the pid namespace does the rest.
    const mounts = bwrapArgs({ dir, readOnly: options.readOnly, proxyDir })
    return [isolation.bwrap, [...mounts, options.executable, ...args]]
  }
  return SETPRIV
    ? [SETPRIV, ['--pdeathsig', 'KILL', options.executable, ...args]]
    : [options.executable, args]
}

/**
 * How the pool starts its launcher (launcher.mjs): with pdeathsig where setpriv exists, so
 * the kernel kills it, and with it every sandbox, the moment the server dies.
 */
export function launcherPrefix(): string[] {
  return SETPRIV ? [SETPRIV, '--pdeathsig', 'KILL'] : []
}

/**
 * Starts an idle sandbox process in a fresh temp dir, which goes away with it. Both runners
 * read their job as a JSON line on stdin and answer in JSON lines on fd 3 (not Node's IPC
 * channel: it would parse a message of any size a script chose to send). The launcher gives
 * the process its own process group, so kill() also reaches anything it forked (Python can
 * fork) and a Ctrl-C meant for the server does not hit scripts halfway.
 */
export async function spawnSandbox(options: SpawnOptions, launcher: Launcher): Promise<SandboxProcess> {
  const dir = await makeSandboxDir()
  const [command, args] = commandLine(options, dir)
  const child = launcher.launch({ command, args, cwd: dir, env: scrubbedEnv(options) })
  return sandboxProcessOf(options, child, {
    cleanup: () => removeSandboxDir(dir),
    // Without a pid namespace, a child that called setsid() left the process group: the
    // tree is walked and killed first, while the runner still holds it together. (Before
    // the launcher has said the pid, the process has not run a job, so it forked nothing.)
    // In a namespace, killing bwrap's group takes its pid namespace, and all in it, along.
    killTreeFirst: options.isolation.mode === 'none',
  })
}

/**
 * A launched runner as the pool sees it: its messages parsed, its output split in lines,
 * `exited` once it is gone and `cleanup` done. Shared by processes the launcher starts and
 * jobs a zygote forks (zygote.ts), whose `pid` is the job's pid 1.
 */
export function sandboxProcessOf(
  spec: { language: 'node' | 'python'; memoryMb: number },
  child: LaunchedProcess,
  hooks: {
    cleanup(): Promise<void>
    killTreeFirst: boolean
    /** Where the process's tree is not simply the one under `child.pid` (see zygote.ts). */
    rssMb?: () => Promise<number | undefined>
  },
): SandboxProcess {
  let alive = true
  let events: ChildEvents | undefined
  let stderr = ''

  const exited = child.closed.then(async (exit): Promise<ChildExit> => {
    alive = false
    await hooks.cleanup().catch(() => {})
    return exit
  })
  child.exit.then(() => {
    alive = false
  })

  let ready = false
  splitLines(child.channel, MAX_MESSAGE_CHARS, (line, cut) => {
    let message: unknown
    try {
      message = cut ? undefined : JSON.parse(line)
    } catch {
      // Not JSON: user code wrote to fd 3 itself. Dropped, like any message that fails the schema.
    }
    // The runner's first word; user code could send it too, which would only mislabel itself.
    if (!ready && (message as { type?: unknown } | undefined)?.type === 'ready') ready = true
    else if (message !== undefined) events?.message(message)
  })
  // Cut at twice the log cap in characters, so truncateLine still sees more than it keeps.
  const outputCap = MAX_LOG_LINE_BYTES * 2
  splitLines(child.stdout, outputCap, (line, cut) => events?.output('stdout', truncateLine(line, cut)))
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-STDERR_TAIL_CHARS)
  })
  splitLines(child.stderr, outputCap, (line, cut) => events?.output('stderr', truncateLine(line, cut)))

  return {
    language: spec.language,
    memoryMb: spec.memoryMb,
    get alive() {
      return alive
    },
    get ready() {
      return ready
    },
    exited,
    start(job, handlers) {
      if (events) throw new Error('a sandbox process runs one job only')
      events = handlers
      // stdin stays open: both runners take its end to mean "the server is gone".
      child.write(`${JSON.stringify(job)}\n`)
    },
    kill() {
      if (!alive) return
      const { pid } = child
      const tree = hooks.killTreeFirst && pid !== undefined ? killTree(pid) : Promise.resolve()
      tree.finally(() => child.kill())
    },
    stderrTail: () => stderr,
    // The whole tree: under bwrap the runner is a grandchild, and a forked child counts too.
    rssMb: () => {
      if (hooks.rssMb) return hooks.rssMb()
      const { pid } = child
      return pid === undefined ? Promise.resolve(undefined) : treeRssMb(pid)
    },
  }
}
