import type { Database } from '../db/database'
import { coerceError } from '../errors'
import type { Logger } from '../log'
import {
  type AccessEvent,
  Channel,
  type LogEvent,
  type LogEventTuple,
  type RunEvent,
  type RunEventTuple,
} from './channels'

type Listener<T> = (event: T) => void

/**
 * The node's single LISTEN connection, fanned out to in-process listeners:
 * graphql-ws subscribers, workers waiting for work, chains waiting for children.
 * One NOTIFY is parsed once per node whatever the number of subscribers.
 */
export interface EventBus {
  /** Run changes for a key: `run:<id>`, `automation:<id>` or `org:<id>`. */
  onRun(key: string, listener: Listener<RunEvent>): () => void
  onLog(runId: string, listener: Listener<LogEvent>): () => void
  onWake(listener: () => void): () => void
  /** A hint that a run may have a cancel request: check the run row before acting. */
  onCancel(listener: Listener<string>): () => void
  /** Credentials or grants of an organization changed. */
  onAccess(orgId: string, listener: Listener<AccessEvent>): () => void
  /** Fires after the LISTEN connection is (re)established, so pollers can catch up. */
  onReconnect(listener: () => void): () => void
  /** In-process listeners now registered, of every kind (tests, metrics: a subscription that ended leaves none). */
  listenerCount(): number
  stop(): Promise<void>
}

class Registry<T> {
  private readonly map = new Map<string, Set<Listener<T>>>()
  private count = 0
  get size(): number {
    return this.count
  }
  add(key: string, l: Listener<T>): () => void {
    const set = this.map.get(key) ?? new Set<Listener<T>>()
    this.map.set(key, set)
    if (!set.has(l)) this.count++
    set.add(l)
    return () => {
      if (set.delete(l)) this.count--
      if (set.size === 0 && this.map.get(key) === set) this.map.delete(key)
    }
  }
  emit(key: string, event: T, log: Logger): void {
    const set = this.map.get(key)
    if (!set) return
    for (const l of set) {
      try {
        l(event)
      } catch (err) {
        log.error({ err: coerceError(err) }, 'event listener failed')
      }
    }
  }
}

export async function startEventBus(db: Database, log: Logger): Promise<EventBus> {
  const runs = new Registry<RunEvent>()
  const logs = new Registry<LogEvent>()
  const wakes = new Registry<void>()
  const cancels = new Registry<string>()
  const reconnects = new Registry<void>()
  const access = new Registry<AccessEvent>()

  const onRunPayload = (payload: string) => {
    // A node nobody watches runs on (a worker) gets every run event of the database: it
    // need not decode them.
    if (runs.size === 0) return
    for (const t of JSON.parse(payload) as RunEventTuple[]) {
      const [runId, orgId, automationId, state, parentRunId, attempt, startedAt, finishedAt, error] = t
      const e: RunEvent = {
        runId,
        orgId,
        automationId,
        state,
        parentRunId,
        attempt,
        startedAt: startedAt === null ? null : new Date(startedAt),
        finishedAt: finishedAt === null ? null : new Date(finishedAt),
        error,
      }
      runs.emit(`run:${runId}`, e, log)
      runs.emit(`automation:${automationId}`, e, log)
      runs.emit(`org:${orgId}`, e, log)
      if (parentRunId) runs.emit(`children:${parentRunId}`, e, log)
    }
  }
  const onLogPayload = (payload: string) => {
    if (logs.size === 0) return
    for (const [runId, orgId, lastId] of JSON.parse(payload) as LogEventTuple[]) {
      logs.emit(runId, { runId, orgId, lastId }, log)
    }
  }
  const safe = (fn: (p: string) => void) => (p: string) => {
    try {
      fn(p)
    } catch (err) {
      log.error({ err: coerceError(err) }, 'bad event payload')
    }
  }
  const unlisten = await Promise.all([
    db.listen(Channel.RUN, safe(onRunPayload)),
    db.listen(Channel.LOG, safe(onLogPayload)),
    db.listen(
      Channel.WAKE,
      () => wakes.emit('', undefined, log),
      () => reconnects.emit('', undefined, log),
    ),
    db.listen(Channel.CANCEL, (id) => cancels.emit('', id, log)),
    db.listen(
      Channel.ACCESS,
      safe((p) => {
        const e = JSON.parse(p) as AccessEvent
        access.emit(e.orgId, e, log)
      }),
    ),
  ])
  return {
    onRun: (key, l) => runs.add(key, l),
    onLog: (runId, l) => logs.add(runId, l),
    onWake: (l) => wakes.add('', l),
    onCancel: (l) => cancels.add('', l),
    onReconnect: (l) => reconnects.add('', l),
    onAccess: (orgId, l) => access.add(orgId, l),
    listenerCount: () => runs.size + logs.size + wakes.size + cancels.size + reconnects.size + access.size,
    async stop() {
      await Promise.all(unlisten.map((u) => u().catch(() => {})))
    },
  }
}
