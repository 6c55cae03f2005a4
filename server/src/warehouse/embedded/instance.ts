import { Worker } from 'node:worker_threads'
import { RunFailure } from '../../kinds/kind'
import type { QueryReply, WorkerReply, WorkerRequest } from './protocol'

const BOOT = new URL('./boot.mjs', import.meta.url)
// Beside this module: worker.ts when run from src/, worker.js from the build in dist/.
const ENTRY = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url).href

/** How long opening (or recovering) a PGlite may take. */
const OPEN_TIMEOUT_MS = 120_000

type Pending = { resolve(r: QueryReply | null): void; reject(e: Error): void; timer: NodeJS.Timeout }

/** A request without its id, which the instance assigns. */
type Request = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never

/**
 * One organization's embedded warehouse: a worker thread running its PGlite.
 * Requests go one at a time (`exclusive` holds the instance across several,
 * for a transaction); each is timed, and a worker that overruns is terminated,
 * which is the only way to stop a statement running inside PGlite. The next
 * request then finds the instance closed and the owner opens a new one (on
 * disk PGlite recovers like a crashed server; `memory://` starts empty).
 */
export class EmbeddedInstance {
  private readonly worker: Worker
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private chain: Promise<unknown> = Promise.resolve()
  private idleTimer: NodeJS.Timeout | undefined
  private busy = 0
  /** Set once the worker is gone; every later request fails with it. */
  private dead: Error | undefined
  readonly opened: Promise<void>

  constructor(
    readonly dataDir: string,
    private readonly idleMs: number,
    private readonly onGone: (i: EmbeddedInstance) => void,
  ) {
    // The JS heap of a worker only ever holds one batch of a result: keep it small, so it is collected early.
    this.worker = new Worker(BOOT, {
      workerData: { entry: ENTRY },
      resourceLimits: { maxOldGenerationSizeMb: 256 },
    })
    this.worker.on('message', (m: WorkerReply) => this.reply(m))
    this.worker.on('error', (err) => this.gone(err))
    this.worker.on('exit', (code) =>
      this.gone(new Error(`the embedded warehouse worker exited (code ${code})`)),
    )
    this.opened = this.send({ op: 'open', dataDir }, OPEN_TIMEOUT_MS).then(() => {})
    this.opened.catch(() => {})
  }

  get alive(): boolean {
    return !this.dead
  }

  /** Runs fn with the instance to itself: nothing else reaches the worker until it settles. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(async () => {
      this.busy++
      clearTimeout(this.idleTimer)
      try {
        await this.opened
        return await fn()
      } finally {
        this.busy--
        this.armIdle()
      }
    })
    this.chain = run.catch(() => {})
    return run
  }

  /** Sends one request (the caller holds `exclusive`); rejects after timeoutMs and stops the worker. */
  send(req: Request, timeoutMs: number): Promise<QueryReply | null> {
    if (this.dead) return Promise.reject(this.dead)
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(
          new RunFailure(
            `the statement ran past its timeout of ${timeoutMs} ms and was stopped (the organization's embedded warehouse restarts on next use); raise timeoutMs or make it cheaper`,
          ),
        )
        void this.terminate(
          new Error('the embedded warehouse was stopped after a statement overran its timeout'),
        )
      }, timeoutMs)
      this.pending.set(id, { resolve, reject, timer })
      this.worker.postMessage({ ...req, id } as WorkerRequest)
    })
  }

  /** Closes PGlite cleanly (its files consistent), then the worker. */
  async close(): Promise<void> {
    if (this.dead) return
    await this.exclusive(() => this.send({ op: 'close' }, 30_000)).catch(() => {})
    await this.terminate(new Error('the embedded warehouse was closed'))
  }

  async terminate(reason: Error): Promise<void> {
    this.gone(reason)
    await this.worker.terminate()
  }

  private reply(m: WorkerReply) {
    const p = this.pending.get(m.id)
    if (!p) return
    this.pending.delete(m.id)
    clearTimeout(p.timer)
    if (m.ok) return p.resolve(m.result)
    const err = m.error.failure
      ? new RunFailure(m.error.message)
      : Object.assign(new Error(m.error.message), { code: m.error.code })
    p.reject(err)
  }

  private gone(reason: Error) {
    if (this.dead) return
    this.dead = reason
    clearTimeout(this.idleTimer)
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer)
      p.reject(reason)
      this.pending.delete(id)
    }
    this.onGone(this)
  }

  private armIdle() {
    clearTimeout(this.idleTimer)
    if (this.busy > 0 || this.dead || this.idleMs <= 0) return
    this.idleTimer = setTimeout(() => void this.close(), this.idleMs)
    this.idleTimer.unref()
  }
}
