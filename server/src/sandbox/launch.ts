import { type ChildProcess, spawn } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The launcher process (see launcher.mjs for why sandboxes are not forked by the server). */
export const LAUNCHER = realpathSync(fileURLToPath(new URL('./launcher.mjs', import.meta.url)))

/** What a sandbox process writes, one stream per fd, as the launcher relays it. */
export interface RelayedStream {
  on(event: 'data', listener: (chunk: Buffer) => void): this
  on(event: 'end', listener: () => void): this
}

/** How a launched process ended; `error` when it could not even start. */
export interface LaunchExit {
  code: number | null
  signal: NodeJS.Signals | null
  error?: Error
}

/** A process the launcher started: its output, its input, and its end. */
export interface LaunchedProcess {
  /** Its pid (the host's), once the launcher has reported it. */
  readonly pid: number | undefined
  readonly stdout: RelayedStream
  readonly stderr: RelayedStream
  /** fd 3, the runner's channel. */
  readonly channel: RelayedStream
  /** The process has ended (its output may still be on its way). */
  readonly exit: Promise<void>
  /** The process has ended and all its output arrived; resolves, never rejects. */
  readonly closed: Promise<LaunchExit>
  write(data: string): void
  /** SIGKILLs its process group, if it has not ended yet. */
  kill(): void
}

export interface LaunchOptions {
  command: string
  args: readonly string[]
  cwd: string
  env: Record<string, string>
}

/** Spawns sandbox processes through a launcher process; `stop()` ends it (kill its processes first). */
export interface Launcher {
  launch(options: LaunchOptions): LaunchedProcess
  stop(): Promise<void>
}

type LauncherMessage =
  | { type: 'spawned'; id: number; pid: number }
  | { type: 'failed'; id: number; message: string }
  | { type: 'data'; id: number; fd: 1 | 2 | 3; chunk: Uint8Array }
  | { type: 'exit' | 'close'; id: number; code: number | null; signal: NodeJS.Signals | null }

interface Entry {
  pid?: number
  streams: Record<1 | 2 | 3, EventEmitter>
  exited(): void
  closed(exit: LaunchExit): void
}

/**
 * Starts the launcher (`command` and `prefix`: how, e.g. under setpriv's pdeathsig) on first
 * use. Should it die, the processes it had are reported killed (they die with it) and the
 * next launch starts a new one. Left without a process for `idleMs`, it is stopped, so an
 * idle worker holds no launcher (its ~40 MB) either; the next launch starts it again.
 */
export function createLauncher(options: {
  node: string
  prefix: readonly string[]
  idleMs?: number
}): Launcher {
  let current: { child: ChildProcess; entries: Map<number, Entry>; gone: Promise<void> } | undefined
  let nextId = 1
  let idleTimer: NodeJS.Timeout | undefined

  /** Disconnecting tells the launcher to kill what is left and exit. */
  function shutdown(): Promise<void> | undefined {
    clearTimeout(idleTimer)
    const running = current
    if (!running) return undefined
    current = undefined
    if (running.child.connected) running.child.disconnect()
    return running.gone
  }

  function idleCheck(entries: Map<number, Entry>) {
    if (options.idleMs === undefined || entries.size > 0) return
    clearTimeout(idleTimer)
    // unref: an idle clock must not keep a server (or a test) alive.
    idleTimer = setTimeout(() => {
      if (current?.entries === entries && entries.size === 0) shutdown()
    }, options.idleMs).unref()
  }

  function launcher() {
    if (current) return current
    const [command, ...prefix] = [...options.prefix, options.node]
    const child = spawn(command as string, [...prefix, LAUNCHER], {
      // Nothing of the server's environment: the launcher passes each sandbox its own.
      env: {},
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
    })
    const entries = new Map<number, Entry>()
    const gone = new Promise<void>((resolve) => {
      child.on('exit', () => resolve())
      // A launcher that could not start at all reports no exit.
      child.on('error', () => {
        if (child.pid === undefined) resolve()
      })
    })
    const self = { child, entries, gone }
    current = self
    child.on('message', (message: LauncherMessage) => {
      const entry = entries.get(message.id)
      if (!entry) return
      if (message.type === 'spawned') entry.pid = message.pid
      else if (message.type === 'data') {
        const { chunk } = message
        entry.streams[message.fd].emit('data', Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
      } else if (message.type === 'exit') entry.exited()
      else if (message.type === 'failed')
        finish(message.id, { code: null, signal: null, error: new Error(message.message) })
      else finish(message.id, { code: message.code, signal: message.signal })
    })
    const finish = (id: number, exit: LaunchExit) => {
      const entry = entries.get(id)
      if (!entry) return
      entries.delete(id)
      idleCheck(entries)
      for (const stream of Object.values(entry.streams)) stream.emit('end')
      entry.exited()
      entry.closed(exit)
    }
    gone.then(() => {
      if (current === self) current = undefined
      // Its processes die with it (--die-with-parent, pdeathsig).
      for (const id of [...entries.keys()]) finish(id, { code: null, signal: 'SIGKILL' })
    })
    return self
  }

  return {
    launch(launch) {
      clearTimeout(idleTimer)
      const { child, entries } = launcher()
      const id = nextId++
      let exited!: () => void
      let closed!: (exit: LaunchExit) => void
      const exit = new Promise<void>((resolve) => {
        exited = resolve
      })
      const done = new Promise<LaunchExit>((resolve) => {
        closed = resolve
      })
      const entry: Entry = {
        streams: { 1: new EventEmitter(), 2: new EventEmitter(), 3: new EventEmitter() },
        exited,
        closed,
      }
      entries.set(id, entry)
      const post = (message: object) => {
        if (child.connected) child.send(message)
      }
      post({ type: 'spawn', id, ...launch })
      if (!child.connected) {
        entries.delete(id)
        closed({ code: null, signal: null, error: new Error('the sandbox launcher is not running') })
      }
      return {
        get pid() {
          return entry.pid
        },
        stdout: entry.streams[1],
        stderr: entry.streams[2],
        channel: entry.streams[3],
        exit,
        closed: done,
        write: (data) => post({ type: 'write', id, data }),
        kill: () => post({ type: 'kill', id }),
      }
    },

    async stop() {
      await shutdown()
    },
  }
}
