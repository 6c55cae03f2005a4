/**
 * Script sandbox vocabulary.
 *
 * - **Job**: one execution of a user script (the SCRIPT kind), with its arguments and limits.
 * - **Sandbox process**: a child process that runs exactly one job and is then killed; never
 *   reused, so nothing of one organization's run can reach another's.
 * - **Warm process**: a sandbox process started ahead of time, already confined, and idle
 *   on its stdin until it gets its one job, so the job does not pay for the runtime's start.
 *   Kept per spec (language and memory cap, see warm.ts).
 * - **Runner**: the small file a sandbox process executes (`runner.mjs`, `runner.py`).
 * - **Zygote**: a long-lived Python process per memory cap, sandboxed like the others, that
 *   forks every Python sandbox process (one per job, each in namespaces of its own) instead
 *   of the pool starting bwrap and an interpreter per job (zygote.ts, zygote.py). It never
 *   runs user code; where namespaces cannot nest, Python gets a process per job as before.
 * - **Job socket**: the unix socket a forked job's stdio and channel connect to, each
 *   connection naming the job's random token (job-socket.ts).
 * - **Launcher**: a small process of the pool's that forks the sandbox processes and relays
 *   their stdio, because fork() from the (large) server costs more the bigger it is (launcher.mjs).
 * - **Isolation**: how sandbox processes are contained: own network and pid namespaces
 *   (bubblewrap), or none (see isolation.ts).
 * - **Egress proxy**: the server's HTTP(S) proxy, the one way out of a sandbox's network
 *   namespace; it applies the egress policy (egress/proxy.ts).
 */

import type { LogLevel } from '../domain'
import type { Egress } from '../egress'
import type { SandboxIsolation } from './isolation'

/** Languages a SCRIPT automation can be written in; `python` only where python3 exists. */
export type ScriptLanguage = 'javascript' | 'typescript' | 'python'

/** One script execution handed to {@link SandboxPool.run}. */
export interface ScriptJob {
  language: ScriptLanguage
  /** The body of an async function (JS/TS) or a module body (Python). */
  code: string
  /** JSON-serialisable: `{ params, variables, triggered_by_user, run }`. */
  args: Record<string, unknown>
  timeoutMs: number
  /** Heap cap of the sandbox process; default 256. */
  memoryMb?: number
  /** Aborting kills the sandbox process at once; the run rejects with reason CANCELLED. */
  signal?: AbortSignal
  /** Called for every log line as the script writes it. */
  onLog?: (level: LogLevel, message: string) => void
}

export interface ScriptResult {
  outputs: Record<string, unknown>
}

export const SCRIPT_ERROR_REASONS = {
  /** fail() was called, an error was thrown, or the code does not compile. */
  FAILED: 'FAILED',
  TIMEOUT: 'TIMEOUT',
  CANCELLED: 'CANCELLED',
  /** The heap cap (or the resident-memory watchdog) stopped the script. */
  MEMORY: 'MEMORY',
  /** The sandbox process ended without reporting a result. */
  CRASHED: 'CRASHED',
} as const
export type ScriptErrorReason = keyof typeof SCRIPT_ERROR_REASONS

/** Why a script did not succeed; `line`/`column` point into the user's code when known. */
export class ScriptError extends Error {
  override name = 'ScriptError'
  readonly reason: ScriptErrorReason
  readonly line?: number
  readonly column?: number

  constructor(
    reason: ScriptErrorReason,
    message: string,
    options: { line?: number; column?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.reason = reason
    if (options.line !== undefined) this.line = options.line
    if (options.column !== undefined) this.column = options.column
  }
}

/** Runs jobs in fresh sandbox processes, keeping a few warm per spec; `stop()` kills them all. */
export interface SandboxPool {
  run(job: ScriptJob): Promise<ScriptResult>
  stop(): Promise<void>
  readonly stats: { warm: number; busy: number }
  /** The containment in force, for the start log. */
  readonly isolation: SandboxIsolation
}

export interface SandboxPoolOptions {
  /** Warm processes kept per spec (language and memory cap); default 2, 0 disables pre-spawning. */
  warm?: number
  /** A spec without a job this long has its warm processes killed; default 60 s. */
  warmIdleMs?: number
  /** Node binary for sandbox processes; default the server's own. */
  nodePath?: string
  /** Default: namespaces where bubblewrap works, else none without network (see isolation.ts). */
  isolation?: SandboxIsolation
  /** The policy namespaced scripts reach the network through; without it they have none. */
  egress?: Egress
}
