import type { SandboxProcess } from './child'
import type { SandboxIsolation } from './isolation'
import { type JobSocket, listenForJobs } from './job-socket'
import type { Launcher } from './launch'
import { makeSandboxDir, removeSandboxDir } from './tempdirs'
import { type Zygote, startZygote } from './zygote'

/** How to start a zygote for a memory cap: the interpreter, its entry and what it must see. */
export interface ZygoteSetup {
  python: string
  entry: string
  readOnly: readonly string[]
  proxySocket?: string
}

export interface ZygoteSet {
  /**
   * A job process forked by the spec's zygote (started on first use, restarted after it
   * died); undefined where this host cannot nest the namespaces jobs need, which the first
   * zygote finds out once for the pool: Python then falls back to a process per job.
   */
  fork(memoryMb: number): Promise<SandboxProcess | undefined>
  /** Kills every zygote (and so their jobs), closes the job socket. */
  stop(): Promise<void>
}

/**
 * The pool's zygotes, one per memory cap, at most `max` at once: past that, the least
 * recently used one without jobs is stopped (an admin's many caps must not pile up zygotes).
 * One without a job for `idleMs` is stopped too, as warm processes are drained.
 */
export function createZygotes(options: {
  isolation: Extract<SandboxIsolation, { mode: 'namespaces' }>
  launcher: Launcher
  setup: () => Promise<ZygoteSetup>
  max: number
  idleMs: number
}): ZygoteSet {
  // Map order is use order, as in warm.ts.
  const zygotes = new Map<number, { zygote: Promise<Zygote>; idle?: NodeJS.Timeout }>()
  let socket: Promise<{ dir: string; socket: JobSocket }> | undefined
  let unavailable = false
  // Every zygote not yet gone, evicted ones too: what stop() kills.
  const running = new Set<Zygote>()

  function jobSocket() {
    socket ??= makeSandboxDir().then(async (dir) => ({ dir, socket: await listenForJobs(dir) }))
    return socket
  }

  async function start(memoryMb: number): Promise<Zygote> {
    const [setup, { socket: js }] = await Promise.all([options.setup(), jobSocket()])
    const zygote = await startZygote({
      ...setup,
      memoryMb,
      isolation: options.isolation,
      jobSocket: js,
      launcher: options.launcher,
    })
    running.add(zygote)
    zygote.exited.then(() => running.delete(zygote))
    return zygote
  }

  /** Stops a zygote once its last job is gone (jobs are never cut short for this). */
  function retire(zygote: Zygote): void {
    if (zygote.jobs === 0) zygote.stop()
    else setTimeout(() => retire(zygote), 1000).unref()
  }

  function evict(): void {
    for (const [memoryMb, entry] of zygotes) {
      if (zygotes.size <= options.max) return
      entry.zygote.then(retire, () => {})
      clearTimeout(entry.idle)
      zygotes.delete(memoryMb)
    }
  }

  function idleStop(memoryMb: number, entry: { zygote: Promise<Zygote>; idle?: NodeJS.Timeout }): void {
    clearTimeout(entry.idle)
    entry.idle = setTimeout(() => {
      entry.zygote.then((z) => {
        if (z.jobs > 0) return idleStop(memoryMb, entry)
        if (zygotes.get(memoryMb) === entry) zygotes.delete(memoryMb)
        z.stop()
      })
    }, options.idleMs).unref()
  }

  return {
    async fork(memoryMb) {
      if (unavailable) return undefined
      let entry = zygotes.get(memoryMb)
      const current = entry && (await entry.zygote.catch(() => undefined))
      const latest = zygotes.get(memoryMb)
      // Another job found the same zygote dead while this one waited, and started the next.
      if (entry && latest && latest !== entry) entry = latest
      else if (!entry || !current?.alive) {
        entry = { zygote: start(memoryMb) }
        // A zygote that cannot start is not kept: the next job tries again (and reports why).
        entry.zygote.catch(() => zygotes.delete(memoryMb))
      }
      zygotes.delete(memoryMb)
      zygotes.set(memoryMb, entry)
      evict()
      idleStop(memoryMb, entry)
      const zygote = await entry.zygote
      const started = await zygote.started
      if (started !== true) {
        if (zygotes.get(memoryMb) === entry) zygotes.delete(memoryMb)
        zygote.stop()
        // Only the probe's answer turns zygotes off for good; a crash is reported, and the next job retries.
        if (started.unavailable) {
          unavailable = true
          return undefined
        }
        throw new Error(started.reason)
      }
      return zygote.fork()
    },

    async stop() {
      const all = [...zygotes.values()]
      zygotes.clear()
      for (const entry of all) clearTimeout(entry.idle)
      await Promise.all(all.map((e) => e.zygote.catch(() => undefined)))
      for (const z of running) z.stop()
      await Promise.all([...running].map((z) => z.exited))
      const js = await socket?.catch(() => undefined)
      if (js) {
        await js.socket.close()
        await removeSandboxDir(js.dir)
      }
    },
  }
}
